import { SEND_PRIORITIES, type SendPriority } from '@switchboard/protocol';
import type { ConnectionReport } from '../engine/engine.js';

/**
 * A connection as the console reads and acts on it: what `connection/session.ts` offers, named here so the
 * HTTP routes depend on this shape and not on the session (http/ may not import connection/).
 */
export interface ConsoleConnection {
  readonly connectionId: string;
  readonly user: string | undefined;
  readonly remoteAddress: string | undefined;
  readonly subscriptionCount: number;
  readonly isOpen: boolean;
  readonly queueIfAny: { readonly queuedBytes: number; readonly pendingGaps: number; depthOf(priority: SendPriority): number } | undefined;
  close(code: number, reason: string): void;
  /** The connection as admin commands report it: its subscriptions, when it connected. */
  report(): ConnectionReport;
}

/** Subscriptions listed per connection; `subscriptionCount` has them all. */
const listedSubscriptions = 50;

/** A connection's detail in `GET /admin/connections`. */
export interface ConnectionDetail {
  readonly connectionId: string;
  readonly node: string;
  readonly user?: string;
  readonly remoteAddress?: string;
  readonly subscriptionCount: number;
  /** Its patterns, the first 50. */
  readonly subscriptions: readonly string[];
  /** When it connected, ms since the Unix epoch. */
  readonly connectedAt?: number;
  readonly queuedBytes: number;
  /** Messages waiting per lane of the send queue (control, high, normal, low). */
  readonly queue: Readonly<Record<SendPriority, number>>;
  readonly pendingGaps: number;
}

export function connectionDetail(connection: ConsoleConnection, node: string): ConnectionDetail {
  const queue = connection.queueIfAny;
  const { user } = connection;
  const { subscriptions = [], connectedAt } = connection.report();
  return {
    connectionId: connection.connectionId,
    node,
    ...(user === undefined ? {} : { user }),
    ...(connection.remoteAddress === undefined ? {} : { remoteAddress: connection.remoteAddress }),
    subscriptionCount: connection.subscriptionCount,
    subscriptions: subscriptions.slice(0, listedSubscriptions),
    ...(connectedAt === undefined ? {} : { connectedAt }),
    queuedBytes: queue?.queuedBytes ?? 0,
    queue: Object.fromEntries(SEND_PRIORITIES.map((priority) => [priority, queue?.depthOf(priority) ?? 0])) as Record<SendPriority, number>,
    pendingGaps: queue?.pendingGaps ?? 0,
  };
}

/**
 * The connections a console search finds: the one whose id is `query`, else those whose user contains it
 * (case-insensitive), at most `limit`.
 */
export function findConnections(connections: Iterable<ConsoleConnection>, query: string, limit: number): { found: ConsoleConnection[]; truncated: boolean } {
  const needle = query.trim().toLowerCase();
  const found: ConsoleConnection[] = [];
  if (needle === '') return { found, truncated: false };
  for (const connection of connections) {
    if (!connection.isOpen) continue;
    if (connection.connectionId.toLowerCase() === needle) return { found: [connection], truncated: false };
    const user = connection.user?.toLowerCase();
    if (user === undefined || !user.includes(needle)) continue;
    if (found.length === limit) return { found, truncated: true };
    found.push(connection);
  }
  return { found, truncated: false };
}
