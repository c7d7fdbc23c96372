import { PRIORITIES, ProtocolErrorCode, parseTopic } from '@switchboard/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { type ClusterView, clusterView } from '../console/cluster-view.js';
import { ConsolePage } from '../console/console-page.js';
import type { NodeReport } from '../console/node-report.js';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { registerAdminTailRoutes } from './admin-tails.js';
import type { AdminGuard } from './admin-users.js';
import { replyError } from './error-reply.js';
import type { HttpBroker } from './http-broker.js';
import { describeInvalid } from './invalid-request.js';


/**
 * The web console (`GET /console`) and the admin JSON API it reads, all with `ADMIN_TOKEN` (registered by
 * admin.ts only when it is set). The page is public (it holds no data: the operator signs in with the token,
 * which the page keeps in sessionStorage and sends as `Authorization: Bearer`, never in a URL); every
 * `/admin/...` route answers 401 `invalid_token` without the token.
 *
 * - `GET /admin/nodes?topics=20` → `{"node", "nodes": [NodeReport], "topics": [TopicRow], "complete",
 *   "nodesExpected", "nodesAnswered"}`: every node, through the engine's `node-report` command
 *   (console/cluster-view.ts merges the answers); `node` is the one serving this request
 * - `GET /admin/topics?limit=20` → `{"node", "topics": [{"topic", "publicationsPerSecond",
 *   "deliveriesPerSecond", "subscribers"}], "windowSeconds", "untrackedPerSecond"}`: this node only
 * - `GET /admin/connections?q=` → `{"connections": [ConnectionDetail], "truncated", "complete", ...}`: on
 *   every node, the connection whose id is `q`, else those whose user contains it (50 per node at most)
 * - `POST /admin/connections/:id/disconnect` and `POST /admin/rebalance`, on any node: admin-targets.ts
 * - `GET /admin/presence?topic=` → the topic's presence, as `GET /presence` answers it
 * - `POST /admin/publish` `{"topic", "data", "priority"?}` → `{"offset"?, "epoch"?, "duplicate"}`
 * - tails: admin-tails.ts
 *
 * Errors are `{"code", "message"}`: 400 `bad_request` / `invalid_topic` / `presence_disabled`,
 * 401 `invalid_token`, 404, 413 `message_too_big`, 503 `unavailable`.
 */

const topicsQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }).strict();
const nodesQuery = z.object({ topics: z.coerce.number().int().min(0).max(100).default(20) }).strict();
const connectionsQuery = z.object({ q: z.string().min(1).max(1024) }).strict();
const presenceQuery = z.object({ topic: z.string() }).strict();
const publishBody = z.object({ topic: z.string(), data: z.unknown(), priority: z.enum(PRIORITIES).default('normal') }).strict();

/** The page's headers: nothing from elsewhere, no framing, no referrer, never cached (the page is per build). */
const pageHeaders = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  // The page's own <meta> policy pins its inline script and style by hash; this adds what a meta cannot.
  'Content-Security-Policy': "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

export function registerAdminConsoleRoutes(app: FastifyInstance, broker: HttpBroker, refused: AdminGuard): void {
  const { nodeName } = broker.config;
  const now = Date.now;
  const { reporter, ranking } = broker.consoleFigures;
  const page = new ConsolePage();
  const unavailable = (error: unknown, reply: FastifyReply): FastifyReply => {
    if (error instanceof BrokerError && error.code === BrokerErrorCode.engineUnavailable) {
      return replyError(reply, ProtocolErrorCode.unavailable, 'the engine is unavailable', { 'Retry-After': String(broker.config.httpRetryAfterSeconds) });
    }
    throw error;
  };

  app.get('/console', async (_request, reply) => {
    const html = await page.load();
    if (html === undefined) {
      return replyError(reply, ProtocolErrorCode.unavailable, 'the console is not built: run pnpm --filter @switchboard/broker bundle:console');
    }
    return reply.headers(pageHeaders).send(html);
  });

  /**
   * Asks every node through the engine (the `node-report` command); while the engine cannot carry it, this
   * node answers alone and the view says it is not complete.
   */
  const cluster = async (command: { topics: number; find?: string }): Promise<ClusterView> => {
    try {
      const result = await broker.command({ op: 'node-report', ...command });
      return clusterView(result.connections, result, command.topics);
    } catch (error) {
      if (!(error instanceof BrokerError && error.code === BrokerErrorCode.engineUnavailable)) throw error;
      const alone = broker.consoleFigures.answer(command, new Map([...broker.sessions()].map((connection) => [connection.connectionId, connection])));
      return clusterView([{ report: alone }], { nodes: { expected: 0, answered: 0 }, complete: false }, command.topics);
    }
  };

  app.get('/admin/nodes', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const query = nodesQuery.safeParse(request.query);
    if (!query.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(query.error, 'query'));
    const [view, readiness] = await Promise.all([cluster({ topics: query.data.topics }), broker.ready()]);
    // This node's own readiness is GET /readyz's (the engine's canary); other nodes report what they know.
    const nodes = view.nodes.map((node) =>
      node.node === nodeName ? { ...withoutReason(node), ready: readiness.ready, ...(readiness.reason === undefined ? {} : { readyReason: readiness.reason }) } : node,
    );
    const { topics, complete, nodesExpected, nodesAnswered } = view;
    return reply.send({ node: nodeName, nodes, topics, complete, nodesExpected, nodesAnswered });
  });

  app.get('/admin/topics', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const query = topicsQuery.safeParse(request.query);
    if (!query.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(query.error, 'query'));
    return reply.send({ node: nodeName, ...ranking.busiest(now(), query.data.limit) });
  });

  app.get('/admin/connections', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const query = connectionsQuery.safeParse(request.query);
    if (!query.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(query.error, 'query'));
    const { connections, truncated, complete, nodesExpected, nodesAnswered } = await cluster({ topics: 0, find: query.data.q });
    return reply.send({ connections, truncated, complete, nodesExpected, nodesAnswered });
  });

  app.get('/admin/presence', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const query = presenceQuery.safeParse(request.query);
    if (!query.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(query.error, 'query'));
    const { topic } = query.data;
    const checked = parseTopic(topic);
    if (!checked.ok) return replyError(reply, checked.error.code, checked.error.message);
    const registry = broker.hub.presence;
    if (registry === undefined || !registry.serves(topic)) {
      return replyError(reply, ProtocolErrorCode.presenceDisabled, `${topic} keeps no presence (no PRESENCE pattern matches it)`);
    }
    try {
      const { epoch, offset, seq, counts, truncated, dataJson } = await registry.list(topic);
      const head = JSON.stringify({ topic, epoch, offset, seq, stats: { connections: counts.connections, users: counts.users, anonymous: counts.anonymous }, truncated });
      return reply.type('application/json').send(dataJson === undefined ? head : `${head.slice(0, -1)},${dataJson.slice(1)}`);
    } catch (error) {
      return unavailable(error, reply);
    }
  });

  app.post('/admin/publish', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const body = publishBody.safeParse(request.body);
    if (!body.success || body.data.data === undefined) {
      return replyError(reply, ProtocolErrorCode.badRequest, body.success ? 'body: data is required' : describeInvalid(body.error, 'body'));
    }
    const { topic, data, priority } = body.data;
    const checked = parseTopic(topic);
    if (!checked.ok) return replyError(reply, checked.error.code, checked.error.message);
    const text = JSON.stringify(data);
    const namespace = broker.namespaces.namespaceFor(topic);
    if (Buffer.byteLength(text) > namespace.maxMessageBytes) {
      return replyError(reply, ProtocolErrorCode.messageTooBig, `payload over ${namespace.maxMessageBytes} bytes`);
    }
    try {
      const result = await broker.hub.publish(topic, { encoding: 'json', text }, { priority });
      broker.stats.publishesHttp++;
      broker.logger.info({ topic }, 'admin: test message published');
      const position = namespace.history === undefined ? {} : { offset: result.offset, epoch: result.epoch };
      return reply.send({ ...position, duplicate: result.duplicate });
    } catch (error) {
      return unavailable(error, reply);
    }
  });

  registerAdminTailRoutes(app, broker, refused, unavailable);
}

function withoutReason(node: NodeReport): NodeReport {
  const { readyReason: _, ...rest } = node;
  return rest;
}
