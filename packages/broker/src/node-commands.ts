import { ProtocolCloseCode } from '@switchboard/protocol';
import { Session } from './connection/session.js';
import type { UserIndex } from './connection/user-index.js';
import type { ConnectionReport, NodeCommand } from './engine/engine.js';
import type { Hub } from './hub/hub.js';

/**
 * Runs an admin command (engine/engine-commands.ts) on this node's connections; every node runs each command
 * it receives, the asking one included. Returns the connections it acted on (or lists). The console's
 * `node-report` is answered by `ConsoleFigures` (broker.ts).
 */
export function runNodeCommand(command: Exclude<NodeCommand, { op: 'node-report' }>, users: UserIndex<Session>, hub: Hub): readonly ConnectionReport[] {
  if (command.op === 'subscribers') {
    const reports: ConnectionReport[] = [];
    for (const subscriber of hub.subscribersOf(command.topic)) if (subscriber instanceof Session) reports.push(subscriber.report());
    return reports;
  }
  const sessions = users.of(command.user).filter((session) => session.isOpen);
  switch (command.op) {
    case 'connections':
      return sessions.map((session) => session.report());
    case 'disconnect': {
      const except = new Set(command.except);
      const closing = sessions.filter((session) => !except.has(session.connectionId));
      const reports = closing.map((session) => session.report());
      const [code, reason] = command.reconnect ? [ProtocolCloseCode.reconnect, 'reconnect requested'] : [ProtocolCloseCode.disconnected, 'disconnected'];
      for (const session of closing) session.close(code, reason);
      return reports;
    }
    case 'subscribe':
      for (const session of sessions) session.offerServerSubscription(command.pattern);
      return sessions.map((session) => session.report());
    case 'unsubscribe':
      for (const session of sessions) session.withdrawServerSubscription(command.pattern);
      return sessions.map((session) => session.report());
  }
}
