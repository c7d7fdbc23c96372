import { z } from 'zod';
import { option } from './option.js';
import { intFrom, patternSchema, visibleAscii } from './option-schemas.js';

/**
 * Who may connect and what they may do: the upgrade's subprotocol and Origin checks, JWT verification,
 * anonymous access and its grants, and the operator's bearer token.
 */

export const authOptions = {
  allowMissingSubprotocol: option({
    env: 'ALLOW_MISSING_SUBPROTOCOL',
    flag: 'allow-missing-subprotocol',
    kind: 'boolean',
    schema: z.boolean(),
    /** Strictly standard: a client that does not name the protocol may be speaking another one. */
    default: false,
    help: 'serve clients that send no Sec-WebSocket-Protocol at all (tools that cannot set it); off: they get 400',
  }),
  allowedOrigins: option({
    env: 'ALLOWED_ORIGINS',
    flag: 'allowed-origins',
    kind: 'list',
    schema: z.array(z.string().regex(/^(https?:\/\/[^\s/]+|null)$/, 'must be an origin like https://app.example')),
    default: [],
    help: 'comma-separated Origin allowlist (`https://app.example`, `https://*.example.com`); empty: any origin',
  }),
  allowMissingOrigin: option({
    env: 'ALLOW_MISSING_ORIGIN',
    flag: 'allow-missing-origin',
    kind: 'boolean',
    schema: z.boolean(),
    default: true,
    help: 'with an allowlist, accept requests without Origin (non-browser clients never send one)',
  }),
  jwtSecret: option({
    env: 'JWT_SECRET',
    flag: 'jwt-secret',
    kind: 'string',
    schema: z.string().min(32, 'must be at least 32 bytes (RFC 7518 §3.2: a key as long as the hash)'),
    /** Whoever has it can mint tokens granting anything. */
    secret: 'whole',
    optional: true,
    help: 'HS256 secret (at least 32 bytes); set: tokens are verified',
  }),
  adminToken: option({
    env: 'ADMIN_TOKEN',
    flag: 'admin-token',
    kind: 'string',
    schema: z.string().min(32, 'must be at least 32 bytes: it is a bearer secret').regex(visibleAscii, 'must be visible ASCII'),
    secret: 'whole',
    optional: true,
    help: 'bearer token for the operator endpoints (POST /admin/rebalance, at least 32 bytes); unset: they answer 404',
  }),
  jwtIssuer: option({
    env: 'JWT_ISSUER',
    flag: 'jwt-issuer',
    kind: 'string',
    schema: z.string().min(1),
    optional: true,
    help: 'required `iss` claim, if set',
  }),
  jwtAudience: option({
    env: 'JWT_AUDIENCE',
    flag: 'jwt-audience',
    kind: 'string',
    schema: z.string().min(1),
    optional: true,
    help: 'required `aud` claim, if set',
  }),
  jwtClockToleranceMs: option({
    env: 'JWT_CLOCK_TOLERANCE',
    flag: 'jwt-clock-tolerance',
    kind: 'duration',
    schema: intFrom(0, 3_600_000),
    /** Token issuers and brokers rarely agree on the time to the millisecond. */
    default: 5000,
    help: 'leeway for `exp`/`nbf` against clock skew between the token issuer and this node',
  }),
  allowAnonymous: option({
    env: 'ALLOW_ANONYMOUS',
    flag: 'allow-anonymous',
    kind: 'boolean',
    schema: z.boolean(),
    /** Open in development (no secret configured), closed as soon as tokens exist. */
    derive: (options: { readonly jwtSecret: string | undefined }) => options.jwtSecret === undefined,
    help: 'accept connections without a token; default: true without JWT_SECRET (development), false with it',
  }),
  anonymousPublish: option({
    env: 'ANONYMOUS_PUBLISH',
    flag: 'anonymous-publish',
    kind: 'list',
    schema: z.array(patternSchema),
    default: ['>'],
    help: 'patterns anonymous connections may publish to',
  }),
  anonymousSubscribe: option({
    env: 'ANONYMOUS_SUBSCRIBE',
    flag: 'anonymous-subscribe',
    kind: 'list',
    schema: z.array(patternSchema),
    default: ['>'],
    help: 'patterns anonymous connections may subscribe to',
  }),
  authFailureAfterUpgrade: option({
    env: 'AUTH_FAILURE_AFTER_UPGRADE',
    flag: 'auth-failure-after-upgrade',
    kind: 'boolean',
    schema: z.boolean(),
    default: false,
    help: 'report a bad token by accepting the upgrade and closing with 4401 (browsers cannot read a 401)',
  }),
};
