import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuthHook } from '../auth/authenticator.js';
import type { Config } from '../config/config.js';
import type { NamespaceResolver } from '../config/namespace-resolver.js';
import type { CommandResult, NodeCommand } from '../engine/engine.js';
import type { ConsoleConnection } from '../console/console-connection.js';
import type { ConsoleFigures } from '../console/console-figures.js';
import type { Hub } from '../hub/hub.js';
import type { BrokerStats } from '../stats.js';

/**
 * A node's lifecycle: `running` until shutdown begins, `draining` while queues flush and clients are closed,
 * `closed` once the engine is stopped. Only `running` takes new connections and publishes.
 */
export type BrokerState = 'running' | 'draining' | 'closed';

/**
 * What the HTTP routes need from the broker node, so that `http/` depends on this contract and not on
 * `broker.ts` (which implements it and builds on `http/handshake.ts` and `http/metrics.ts`). Everything is
 * read at request time: the routes keep no state of their own.
 */
export interface HttpBroker {
  readonly config: Config;
  /** Publishes and history go through the hub, like a WebSocket client's. */
  readonly hub: Hub;
  readonly stats: BrokerStats;
  readonly logger: Logger;
  /** The Prometheus registry GET /metrics serves. */
  readonly metrics: Registry;
  /** The same hook that authenticates WebSocket upgrades. */
  readonly authenticate: AuthHook;
  /** Per-topic settings: who may publish without a grant, payload size, history (config/namespace-resolver.ts). */
  readonly namespaces: NamespaceResolver;
  readonly state: BrokerState;
  /** Open WebSocket connections on this node. */
  readonly connectionCount: number;
  /** Fan-out queues are so full that POST /publish must answer 429. */
  readonly saturated: boolean;
  /** Ready to take traffic (GET /readyz); `reason` says why not. Never rejects. */
  ready(): Promise<{ ready: boolean; reason?: string }>;
  /**
   * Closes `fraction` (in (0, 1]) of the connections with 4101, spread over `spreadMs`; returns how many.
   * @throws RangeError for a fraction outside (0, 1].
   */
  rebalance(fraction: number, spreadMs?: number): number;
  /**
   * Runs an admin command on every node (this one included), waiting up to ADMIN_COMMAND_TIMEOUT for their
   * answers; rejects with `ERR_BROKER_ENGINE_UNAVAILABLE` when it could not be sent.
   */
  command(command: NodeCommand): Promise<CommandResult>;
  /** This node's figures for the console (rates, busiest topics), also what it answers other nodes. */
  readonly consoleFigures: ConsoleFigures;
  /** This node's connections, for the console (read and closed, never written to). */
  sessions(): Iterable<ConsoleConnection>;
  session(connectionId: string): ConsoleConnection | undefined;
}
