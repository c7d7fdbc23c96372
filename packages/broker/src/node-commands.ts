import { ProtocolCloseCode } from '@switchboard/protocol';
import { Session } from './connection/session.js';
import type { UserIndex } from './connection/user-index.js';
import type { ConnectionReport, NodeCommand, RebalanceReport } from './engine/engine.js';
import type { Hub } from './hub/hub.js';

/** What an admin command acts on: this node's connections, by user and by id, and its rebalance (broker.ts). */
export interface CommandNode {
  readonly nodeName: string;
  readonly users: UserIndex<Session>;
  readonly hub: Hub;
  session(connectionId: string): Session | undefined;
  readonly connectionCount: number;
  readonly running: boolean;
  /** Sheds `fraction` of the connections with 4101 over `spreadMs`; returns how many. */
  rebalance(fraction: number, spreadMs?: number): number;
}

/**
 * Runs an admin command (engine/engine-commands.ts) on this node's connections; every node runs each command
 * it receives, the asking one included. Returns the connections it acted on (or lists). The console's
 * `node-report` is answered by `ConsoleFigures` (broker.ts).
 */
export function runNodeCommand(command: Exclude<NodeCommand, { op: 'node-report' }>, node: CommandNode): readonly ConnectionReport[] {
  switch (command.op) {
    case 'subscribers': {
      const reports: ConnectionReport[] = [];
      for (const subscriber of node.hub.subscribersOf(command.topic)) if (subscriber instanceof Session) reports.push(subscriber.report());
      return reports;
    }
    case 'disconnect-connection': {
      const session = node.session(command.connectionId);
      if (session === undefined || !session.isOpen) return [];
      const report = session.report();
      closeAsked(session, command.reconnect);
      session.logger.info({ closeCode: closeCodeFor(command.reconnect) }, 'admin: connection disconnected');
      return [report];
    }
    case 'rebalance': {
      if (command.node !== node.nodeName) return [];
      const connections = node.connectionCount;
      const closing = node.running ? node.rebalance(command.fraction, command.spreadMs) : 0;
      const report: RebalanceReport = { closing, connections, running: node.running };
      return [{ connectionId: '', node: node.nodeName, report }];
    }
    default:
      return runUserCommand(command, node.users);
  }
}

function runUserCommand(command: Extract<NodeCommand, { user: string }>, users: UserIndex<Session>): readonly ConnectionReport[] {
  const sessions = users.of(command.user).filter((session) => session.isOpen);
  switch (command.op) {
    case 'connections':
      return sessions.map((session) => session.report());
    case 'disconnect': {
      const except = new Set(command.except);
      const closing = sessions.filter((session) => !except.has(session.connectionId));
      const reports = closing.map((session) => session.report());
      for (const session of closing) closeAsked(session, command.reconnect);
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

/** The close code an admin disconnect uses: 4103 (`reconnect`, at once) or 4404 (`disconnected`, do not). */
function closeCodeFor(reconnect: boolean): number {
  return reconnect ? ProtocolCloseCode.reconnect : ProtocolCloseCode.disconnected;
}

function closeAsked(session: Session, reconnect: boolean): void {
  session.close(closeCodeFor(reconnect), reconnect ? 'reconnect requested' : 'disconnected');
}
