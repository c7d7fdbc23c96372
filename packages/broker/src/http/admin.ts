import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpStatus, ProtocolErrorCode } from '@switchboard/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { tokenFromHeaders } from '../auth/authenticator.js';
import { type AdminGuard, registerAdminUserRoutes } from './admin-users.js';
import { registerAdminConsoleRoutes } from './admin-console.js';
import { replyError } from './error-reply.js';
import type { HttpBroker } from './http-broker.js';
import { describeInvalid } from './invalid-request.js';

/**
 * Operator endpoints, registered only when `ADMIN_TOKEN` is set (otherwise they do not exist: 404), and
 * authenticated with `Authorization: Bearer <ADMIN_TOKEN>`.
 *
 * `POST /admin/rebalance` with `{"fraction": 0.5, "spreadMs"?: 2000}`: closes that fraction of this node's
 * connections with 4101 (`rebalance`, reconnect now), spread over `spreadMs` (default `SHUTDOWN_SPREAD`).
 * Use it after adding nodes: the reconnecting clients are spread over all nodes by the load balancer.
 *
 * Answers (JSON; errors are `{"code", "message"}` with pubsub.v1 codes):
 * - 202 `{"closing", "connections", "node"}`: the closes have started;
 * - 400 `bad_request`; 401 `invalid_token`; 503 `unavailable` while the node is shutting down.
 */

const rebalanceSchema = z
  .object({
    fraction: z.number().gt(0).lte(1),
    spreadMs: z.number().int().min(0).max(600_000).optional(),
  })
  .strict();

export function registerAdminRoutes(app: FastifyInstance, broker: HttpBroker): void {
  const { adminToken, nodeName } = broker.config;
  if (adminToken === undefined) return;
  const refused = adminGuard(adminToken);

  app.post('/admin/rebalance', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const body = rebalanceSchema.safeParse(request.body);
    if (!body.success) {
      return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(body.error, 'body'));
    }
    if (broker.state !== 'running') {
      return replyError(reply, ProtocolErrorCode.unavailable, 'the node is shutting down', {
        'Retry-After': String(broker.config.httpRetryAfterSeconds),
      });
    }
    const connections = broker.connectionCount;
    const closing = broker.rebalance(body.data.fraction, body.data.spreadMs);
    return reply.code(HttpStatus.accepted).send({ closing, connections, node: nodeName });
  });
  registerAdminUserRoutes(app, broker, refused);
  registerAdminConsoleRoutes(app, broker, refused);
}

/**
 * The admin token check: answers 401 `invalid_token` (and returns true) unless the request carries
 * `Authorization: Bearer <ADMIN_TOKEN>`.
 */
function adminGuard(adminToken: string): AdminGuard {
  // Compared as digests: equal lengths for timingSafeEqual, and no timing hint of the token's length.
  const expected = digest(adminToken);
  return (request, reply) => {
    const token = tokenFromHeaders(request.headers, false);
    if (token !== undefined && timingSafeEqual(digest(token), expected)) return false;
    void replyError(reply, ProtocolErrorCode.invalidToken, 'admin token required', { 'WWW-Authenticate': 'Bearer' });
    return true;
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
