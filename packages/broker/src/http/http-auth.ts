import { ProtocolErrorCode } from '@switchboard/protocol';
import type { FastifyRequest } from 'fastify';
import { permissionsOf, runAuthHook, tokenFromHeaders } from '../auth/authenticator.js';
import type { Permissions } from '../auth/permissions.js';
import { reservedRootsOf } from '../config/options-users.js';
import type { HttpBroker } from './http-broker.js';

/** A refused HTTP request: its pubsub.v1 error code (which gives the status), message and extra headers. */
export interface HttpRefusal {
  readonly code: ProtocolErrorCode;
  readonly message: string;
  readonly headers?: Record<string, string>;
}

/**
 * Authenticates an HTTP API request like a connection (`Authorization: Bearer`, the auth hook with kind
 * `http`): the caller's permissions, or the refusal to answer (401 with the token's code and
 * `WWW-Authenticate`, 403, or 503 with `Retry-After`).
 */
export async function authenticateHttp(broker: HttpBroker, request: FastifyRequest, route: string): Promise<Permissions | HttpRefusal> {
  const outcome = await runAuthHook(broker.authenticate, {
    kind: 'http',
    token: tokenFromHeaders(request.headers, false),
    headers: request.headers,
    remoteAddress: request.socket.remoteAddress,
  });
  if (outcome.ok) return permissionsOf(outcome.identity, broker.namespaces, reservedRootsOf(broker.config));
  if (outcome.hookError !== undefined) broker.logger.error({ err: outcome.hookError }, `auth hook failed on ${route}`);
  const { code, message } = outcome;
  if (code === ProtocolErrorCode.forbidden) return { code, message };
  // The token's key could not be fetched (a JWKS server down): 503, retry later.
  if (code === ProtocolErrorCode.unavailable) return { code, message, headers: { 'Retry-After': String(broker.config.httpRetryAfterSeconds) } };
  return { code, message, headers: { 'WWW-Authenticate': 'Bearer' } };
}
