import { createHash, timingSafeEqual } from 'node:crypto';
import { ProtocolErrorCode } from '@switchboard/protocol';
import type { FastifyInstance } from 'fastify';
import { tokenFromHeaders } from '../auth/authenticator.js';
import { type AdminGuard, registerAdminUserRoutes } from './admin-users.js';
import { registerAdminConsoleRoutes } from './admin-console.js';
import { registerAdminTargetRoutes } from './admin-targets.js';
import { replyError } from './error-reply.js';
import type { HttpBroker } from './http-broker.js';

/**
 * Operator endpoints, registered only when `ADMIN_TOKEN` is set (otherwise they do not exist: 404), and
 * authenticated with `Authorization: Bearer <ADMIN_TOKEN>`: rebalance and disconnect one connection
 * (admin-targets.ts), by user (admin-users.ts), the console and its API (admin-console.ts).
 */

export function registerAdminRoutes(app: FastifyInstance, broker: HttpBroker): void {
  const { adminToken } = broker.config;
  if (adminToken === undefined) return;
  const refused = adminGuard(adminToken);

  registerAdminTargetRoutes(app, broker, refused);
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
