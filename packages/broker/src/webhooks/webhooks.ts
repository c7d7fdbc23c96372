import { StandardCloseCode, isValidTopic } from '@switchboard/protocol';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { WebhookEventType } from '../config/options-webhooks.js';
import type { LeaveReason, Payload, PresenceMember, StreamPosition } from '../engine/engine.js';
import type { PresenceChange } from '../presence/presence-registry.js';
import { RedisConnectionRecord } from './redis-connection-record.js';
import { RedisTopicOccupancy, defineOccupancyScripts } from './redis-topic-occupancy.js';
import { type Occupancy, TopicOccupancy } from './topic-occupancy.js';
import type { Cluster, Redis } from 'ioredis';
import { RedisWebhookEndpoint, defineWebhookScripts } from './redis-webhook-endpoint.js';
import { WebhookEndpoint, type WebhookEndpointOptions, type WebhookQueue } from './webhook-endpoint.js';
import { type WebhookEventFields, WebhookEventIds, webhookEvent } from './webhook-event.js';
import type { WebhookRedis } from './webhook-redis.js';
import { WebhookRoutes } from './webhook-routes.js';
import { WebhookStats } from './webhook-stats.js';

export type WebhooksConfig = Pick<
  Config,
  | 'nodeName'
  | 'namespaces'
  | 'webhookUrl'
  | 'webhookSecret'
  | 'webhookEvents'
  | 'webhookBatchSize'
  | 'webhookBatchDelayMs'
  | 'webhookTimeoutMs'
  | 'webhookRetryMinMs'
  | 'webhookRetryMaxMs'
  | 'webhookQueueSize'
  | 'webhookOccupancyGraceMs'
  | 'presenceNodeTtlMs'
>;

/**
 * The broker telling the application's backend what happened (docs/operations.md "Webhooks"). The broker
 * calls one method per happening; each builds the event only if some endpoint wants it, and queues it on
 * that endpoint (`webhook-endpoint.ts`: bounded, batched, signed, retried, in order). Nothing here blocks
 * or throws into the caller: a slow or dead backend costs a connection nothing, and what cannot be queued
 * is counted and logged.
 */
export class Webhooks {
  readonly stats = new WebhookStats();
  private readonly config: WebhooksConfig;
  private readonly logger: Logger;
  private readonly routes: WebhookRoutes;
  private readonly endpoints = new Map<string, WebhookQueue>();
  /** The queues' connection with the Redis engine (any topology): events then survive the node. */
  private readonly redis: Redis | Cluster | undefined;
  private readonly ids = new WebhookEventIds();
  private readonly occupancy: Occupancy;
  /** Presence members by (topic, connection), so that `member_removed` names the user as `member_added` did. */
  private readonly members = new Map<string, PresenceMember>();
  private readonly now: () => number;
  /** With Redis: the connections of every node, so that the sweeper of a dead one reports them closed. */
  private connections: RedisConnectionRecord | undefined;
  /** Whether this node writes its connections there (only if `connection.closed` is wanted). */
  private recordsConnections = false;
  /** The node's open connections by id (the broker's own map), to record again after a lapse. */
  private openConnections: ReadonlyMap<string, { readonly presenceMember: PresenceMember }> = new Map();

  /**
   * The node's webhooks, or undefined when no endpoint is configured. `connectRedis` opens their own Redis
   * (create-webhooks-redis.ts), only when there is an endpoint; it answers undefined with the memory engine.
   */
  static fromConfig(config: WebhooksConfig, logger: Logger, now: () => number = Date.now, connectRedis?: () => WebhookRedis | undefined): Webhooks | undefined {
    const routes = new WebhookRoutes(config);
    if (routes.urls.size === 0) return undefined;
    return new Webhooks(config, routes, logger, now, connectRedis?.());
  }

  private constructor(config: WebhooksConfig, routes: WebhookRoutes, logger: Logger, now: () => number, redis: WebhookRedis | undefined) {
    this.config = config;
    this.routes = routes;
    this.logger = logger.child({ component: 'webhooks' });
    this.now = now;
    const secret = config.webhookSecret;
    // config-checks.ts refuses a webhook URL without a secret; a Config built another way must not send unsigned.
    if (secret === undefined) throw new Error('WEBHOOK_SECRET is needed with a webhook URL');
    this.redis = redis?.connection;
    if (this.redis !== undefined) {
      this.redis.on('error', (error: unknown) => this.logger.debug({ err: error }, 'webhook queue connection error'));
      defineWebhookScripts(this.redis);
      defineOccupancyScripts(this.redis);
    }
    for (const url of routes.urls) {
      const options: WebhookEndpointOptions = {
        url,
        secret,
        node: config.nodeName,
        batchSize: config.webhookBatchSize,
        batchDelayMs: config.webhookBatchDelayMs,
        timeoutMs: config.webhookTimeoutMs,
        retryMinMs: config.webhookRetryMinMs,
        retryMaxMs: config.webhookRetryMaxMs,
        queueSize: config.webhookQueueSize,
        stats: this.stats,
        logger: this.logger,
      };
      this.endpoints.set(url, this.redis === undefined ? new WebhookEndpoint(options) : new RedisWebhookEndpoint({ ...options, redis: this.redis }));
    }
    const report = (topic: string, occupied: boolean): void => this.emit({ type: occupied ? 'topic.occupied' : 'topic.vacated', topic });
    const graceMs = config.webhookOccupancyGraceMs;
    this.occupancy =
      redis === undefined
        ? new TopicOccupancy(graceMs, report)
        : new RedisTopicOccupancy({ redis: redis.connection, keyspace: redis.keyspace, node: config.nodeName, graceMs, nodeTtlMs: config.presenceNodeTtlMs, logger: this.logger, report });
  }

  /** Events waiting or in flight, over every endpoint. */
  get queueDepth(): number {
    let depth = 0;
    for (const endpoint of this.endpoints.values()) depth += endpoint.depth;
    return depth;
  }

  connectionOpened(member: PresenceMember): void {
    if (this.recordsConnections) this.connections?.opened(member);
    this.emit({ type: 'connection.opened', member });
  }

  connectionClosed(member: PresenceMember, code: number): void {
    if (this.recordsConnections) this.connections?.closed(member.connectionId);
    this.emit({ type: 'connection.closed', member, code });
  }

  /**
   * With the Redis engine, sweeps by this node see the connections of dead nodes (`Engine.nodeId` names this
   * one's; `open` is the node's live map of its connections): call once, before the first connection.
   */
  recordConnections(engineNodeId: string, open: ReadonlyMap<string, { readonly presenceMember: PresenceMember }>): void {
    if (this.redis === undefined || this.connections !== undefined) return;
    this.connections = new RedisConnectionRecord(this.redis, engineNodeId, this.logger);
    this.recordsConnections = this.wanted('connection.closed');
    this.openConnections = open;
  }

  /** Members this node's sweep removed (`EngineHandler.onMembersSwept`): a dead node's, or its own leftovers. */
  onMembersSwept(topic: string, members: readonly PresenceMember[], reason: LeaveReason): void {
    for (const member of members) {
      this.members.delete(`${topic}\n${member.connectionId}`);
      this.emit({ type: 'presence.member_removed', topic, member, reason });
    }
  }

  /**
   * This node's liveness had lapsed (`EngineHandler.onMembershipLost`): if a sweeper took its connections and
   * reported them closed, they are recorded and reported opened again, as its presence members re-join.
   */
  onMembershipLost(): void {
    if (!this.recordsConnections) return;
    this.connections
      ?.reassert(this.openConnections, (member) => this.emit({ type: 'connection.opened', member }))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'webhooks: recording connections again failed'));
  }

  /** This node swept a dead node (`EngineHandler.onNodeSwept`): its connections closed abnormally. */
  async onNodeSwept(node: string): Promise<void> {
    await this.connections?.take(node, (member) => this.emit({ type: 'connection.closed', member, code: StandardCloseCode.abnormal }));
  }

  /** A client's publish the engine accepted (not a duplicate), where the topic's namespace asks for it. */
  published(topic: string, payload: Payload, position: StreamPosition, member: PresenceMember): void {
    this.emit({ type: 'publication', topic, payload, position, member });
  }

  /** A membership the presence registry wrote (presence/presence-registry.ts `onChange`). */
  presenceChanged(change: PresenceChange): void {
    const key = `${change.topic}\n${change.connectionId}`;
    if (change.kind === 'added') {
      this.members.set(key, change.member);
      this.emit({ type: 'presence.member_added', topic: change.topic, member: change.member });
      return;
    }
    const member = this.members.get(key) ?? { connectionId: change.connectionId };
    this.members.delete(key);
    this.emit({ type: 'presence.member_removed', topic: change.topic, member, reason: change.reason });
  }

  /** A pattern got its first (true) or lost its last (false) subscriber on this node (the hub's transitions). */
  subscribersChanged(pattern: string, occupied: boolean): void {
    if (!isValidTopic(pattern)) return;
    if (!this.wanted('topic.occupied', pattern) && !this.wanted('topic.vacated', pattern)) return;
    if (occupied) this.occupancy.gained(pattern);
    else this.occupancy.lost(pattern);
  }

  /**
   * Reports topics still waiting out their grace period, then gives every endpoint until `drainMs` from now
   * to deliver its queue; the rest is dropped, counted and logged (in memory), or left in Redis for the
   * other nodes. Call after the connections have closed.
   */
  async close(drainMs: number): Promise<void> {
    this.occupancy.close();
    const deadline = performance.now() + drainMs;
    await Promise.all([...this.endpoints.values()].map((endpoint) => endpoint.close(deadline)));
    await this.connections?.forget();
    // QUIT, not a disconnect: the last occupancy writes of the closed connections are still on their way.
    await this.redis?.quit().catch(() => this.redis?.disconnect());
  }

  private wanted(type: WebhookEventType, topic?: string): boolean {
    return this.routes.urlFor(type, topic) !== undefined;
  }

  private emit(fields: WebhookEventFields): void {
    const topic = 'topic' in fields ? fields.topic : undefined;
    const url = this.routes.urlFor(fields.type, topic);
    if (url === undefined) return;
    const endpoint = this.endpoints.get(url) as WebhookQueue;
    try {
      endpoint.enqueue(webhookEvent(this.ids.next(), this.config.nodeName, this.now(), fields));
    } catch (error) {
      // A bug here must not reach the connection whose happening this was.
      this.logger.error({ err: error, type: fields.type }, 'webhook event failed');
    }
  }
}
