/**
 * Admin commands across nodes (docs/design/presence.md §3.5): the broker that takes an admin request asks
 * every node through the engine (`Engine.command`), each node acts on its own connections
 * (`EngineHandler.onCommand`) and answers with the connections it acted on. At most once: a node that is
 * down or slow is not asked again, and the result says how many nodes answered.
 */

/** What a node is asked to do with its local connections. */
export type NodeCommand =
  /** List the user's connections. */
  | { readonly op: 'connections'; readonly user: string }
  /** Close the user's connections (but those in `except`): 4103 with `reconnect`, else 4404. */
  | { readonly op: 'disconnect'; readonly user: string; readonly reconnect: boolean; readonly except: readonly string[] }
  /** Offer (`subscribe`) or end (`unsubscribe`) a server-side subscription on each of the user's connections. */
  | { readonly op: 'subscribe' | 'unsubscribe'; readonly user: string; readonly pattern: string }
  /** The connections with a subscription matching `topic`. */
  | { readonly op: 'subscribers'; readonly topic: string }
  /**
   * Close one connection, wherever it is: the node that has it open closes it (4103 with `reconnect`, else
   * 4404) and answers with it; the others answer nothing.
   */
  | { readonly op: 'disconnect-connection'; readonly connectionId: string; readonly reconnect: boolean }
  /**
   * Shed `fraction` (in (0, 1]) of the connections of the node named `node` (NODE_NAME) with 4101, spread over
   * `spreadMs` (default: its SHUTDOWN_SPREAD). That node answers one entry whose `connectionId` is empty and
   * whose `report` is a `RebalanceReport`; the others answer nothing.
   */
  | { readonly op: 'rebalance'; readonly node: string; readonly fraction: number; readonly spreadMs?: number }
  /**
   * The web console's report of each node (console/console-figures.ts): its figures, its `topics` busiest
   * topics, and its connections that `find` names (an id, or part of a user). Each node answers one entry
   * whose `connectionId` is empty and whose `report` holds that.
   */
  | { readonly op: 'node-report'; readonly topics: number; readonly find?: string };

/** One connection a node acted on or reports. */
export interface ConnectionReport {
  readonly connectionId: string;
  /** The broker node's name (NODE_NAME). */
  readonly node: string;
  readonly user?: string;
  /** The patterns it subscribes to (those it claimed, for server-side ones). */
  readonly subscriptions?: readonly string[];
  /** When it connected, ms since the Unix epoch. */
  readonly connectedAt?: number;
  /** Its presence info as JSON text (the token's `info` claim, the hook's `identity.info`); absent: none. */
  readonly info?: string;
  /** Op `node-report` only: the node's report, opaque to the engine (JSON). */
  readonly report?: unknown;
}

/** What the node a `rebalance` names answers. */
export interface RebalanceReport {
  /** How many connections it is closing (0 when it is not running). */
  readonly closing: number;
  /** Its open connections when asked. */
  readonly connections: number;
  /** It was running: a node that is shutting down sheds nothing. */
  readonly running: boolean;
}

/** A command's outcome over the cluster. */
export interface CommandResult {
  /** Every connection the answering nodes reported. */
  readonly connections: readonly ConnectionReport[];
  /** Nodes expected to answer (those that received the command), and those that did in time. */
  readonly nodes: { readonly expected: number; readonly answered: number };
  /** Every expected node answered: nothing was left out. */
  readonly complete: boolean;
}

/** Reads a command from JSON text (Redis carries them as such); undefined for anything else. */
export function parseNodeCommand(value: unknown): NodeCommand | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const command = value as Record<string, unknown>;
  const text = (key: string): key is string => typeof command[key] === 'string';
  switch (command['op']) {
    case 'connections':
      return text('user') ? (command as NodeCommand) : undefined;
    case 'disconnect':
      return text('user') && typeof command['reconnect'] === 'boolean' && Array.isArray(command['except']) && command['except'].every((id) => typeof id === 'string')
        ? (command as NodeCommand)
        : undefined;
    case 'subscribe':
    case 'unsubscribe':
      return text('user') && text('pattern') ? (command as NodeCommand) : undefined;
    case 'subscribers':
      return text('topic') ? (command as NodeCommand) : undefined;
    case 'disconnect-connection':
      return text('connectionId') && typeof command['reconnect'] === 'boolean' ? (command as NodeCommand) : undefined;
    case 'rebalance': {
      const { fraction, spreadMs } = command;
      const fractionOk = typeof fraction === 'number' && fraction > 0 && fraction <= 1;
      const spreadOk = spreadMs === undefined || (Number.isInteger(spreadMs) && (spreadMs as number) >= 0);
      return text('node') && fractionOk && spreadOk ? (command as NodeCommand) : undefined;
    }
    case 'node-report':
      return typeof command['topics'] === 'number' && (command['find'] === undefined || text('find')) ? (command as NodeCommand) : undefined;
    default:
      return undefined;
  }
}
