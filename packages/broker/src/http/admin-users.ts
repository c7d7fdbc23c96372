import { HttpStatus, ProtocolErrorCode, parsePattern, parseTopic } from '@switchboard/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CommandResult, ConnectionReport, NodeCommand } from '../engine/engine.js';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { replyError } from './error-reply.js';
import type { HttpBroker } from './http-broker.js';
import { describeInvalid } from './invalid-request.js';

/** Answers 401 and returns true unless the request carries the admin token (admin.ts). */
export type AdminGuard = (request: FastifyRequest, reply: FastifyReply) => boolean;

/**
 * Admin routes by user (protocol.md §14), on every node at once: each is one command through the engine
 * (engine/engine-commands.ts) that every node runs on its own connections, gathered for up to
 * ADMIN_COMMAND_TIMEOUT. Every answer carries `nodes: {expected, answered}` and `complete` (all expected nodes
 * answered): a node that did not answer in time is stated, never hidden. Commands are at most once.
 *
 * - `GET /admin/users/:user/connections` → `{"user", "connections": [{"connectionId", "node", "user",
 *   "subscriptions", "connectedAt", "info"}], "nodes", "complete"}` (`info`: the connection's presence info,
 *   null without one)
 * - `POST /admin/users/:user/disconnect` `{"reconnect"?: false, "except"?: ["c_…"]}`: closes the user's
 *   connections but `except` with 4404 (`disconnected`, do not reconnect), or 4103 (`reconnect`, at once)
 *   with `reconnect: true` → `{"user", "connections": [the closed ones], "nodes", "complete"}`
 * - `POST /admin/users/:user/subscribe`, `/unsubscribe` `{"pattern"}`: offers a server-side subscription to
 *   each of the user's connections (`server_subscribe`), or ends it (`unsubscribed`, `server_unsubscribed`)
 *   → `{"user", "pattern", "connections", "nodes", "complete"}`
 * - `GET /admin/subscribers?topic=` → `{"topic", "connections": <how many connections have a subscription
 *   matching the topic, each once>, "nodes", "complete"}` (no presence needed)
 *
 * Errors: 400 `bad_request` / `invalid_topic`; 401 `invalid_token`; 503 `unavailable` when the engine is.
 */

const userParams = z.object({ user: z.string().min(1).max(1024) });
const disconnectBody = z
  .object({ reconnect: z.boolean().default(false), except: z.array(z.string().min(1).max(128)).max(10_000).default([]) })
  .strict();
const patternBody = z.object({ pattern: z.string() }).strict();
const subscribersQuery = z.object({ topic: z.string() });

export function registerAdminUserRoutes(app: FastifyInstance, broker: HttpBroker, refused: AdminGuard): void {
  const run = async (reply: FastifyReply, command: NodeCommand, answer: (answered: { connections: readonly AnsweredConnection[] }) => object): Promise<FastifyReply> => {
    let result: CommandResult;
    try {
      result = await broker.command(command);
    } catch (error) {
      if (error instanceof BrokerError && error.code === BrokerErrorCode.engineUnavailable) {
        return replyError(reply, ProtocolErrorCode.unavailable, 'the engine is unavailable', { 'Retry-After': String(broker.config.httpRetryAfterSeconds) });
      }
      throw error;
    }
    const connections = result.connections.map(withInfoValue);
    return reply.code(HttpStatus.ok).send({ ...answer({ connections }), nodes: result.nodes, complete: result.complete });
  };
  const userOf = (request: FastifyRequest, reply: FastifyReply): string | undefined => {
    const params = userParams.safeParse(request.params);
    if (params.success) return params.data.user;
    void replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(params.error, 'user'));
    return undefined;
  };

  app.get('/admin/users/:user/connections', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const user = userOf(request, reply);
    if (user === undefined) return reply;
    return run(reply, { op: 'connections', user }, ({ connections }) => ({ user, connections }));
  });

  app.post('/admin/users/:user/disconnect', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const user = userOf(request, reply);
    if (user === undefined) return reply;
    const body = disconnectBody.safeParse(request.body ?? {});
    if (!body.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(body.error, 'body'));
    const { reconnect, except } = body.data;
    return run(reply, { op: 'disconnect', user, reconnect, except }, ({ connections }) => ({ user, connections }));
  });

  for (const op of ['subscribe', 'unsubscribe'] as const) {
    app.post(`/admin/users/:user/${op}`, async (request, reply) => {
      if (refused(request, reply)) return reply;
      const user = userOf(request, reply);
      if (user === undefined) return reply;
      const body = patternBody.safeParse(request.body);
      if (!body.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(body.error, 'body'));
      const { pattern } = body.data;
      const parsed = parsePattern(pattern);
      if (!parsed.ok) return replyError(reply, parsed.error.code, parsed.error.message);
      return run(reply, { op, user, pattern }, ({ connections }) => ({ user, pattern, connections }));
    });
  }

  app.get('/admin/subscribers', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const query = subscribersQuery.safeParse(request.query);
    if (!query.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(query.error, 'topic'));
    const { topic } = query.data;
    const parsed = parseTopic(topic);
    if (!parsed.ok) return replyError(reply, parsed.error.code, parsed.error.message);
    return run(reply, { op: 'subscribers', topic }, ({ connections }) => ({ topic, connections: new Set(connections.map((c) => c.connectionId)).size }));
  });
}

/** A reported connection as the routes answer it: `info` as the JSON value it holds, null without one. */
type AnsweredConnection = Omit<ConnectionReport, 'info'> & { readonly info: unknown };

function withInfoValue(report: ConnectionReport): AnsweredConnection {
  const { info, ...rest } = report;
  return { ...rest, info: info === undefined ? null : (JSON.parse(info) as unknown) };
}
