import { z } from 'zod';
import { JWT_ALGORITHM_NAMES, type JwtAlgorithm } from './jwt-algorithms.js';
import { option } from './option.js';
import { intFrom, patternSchema, visibleAscii } from './option-schemas.js';

/**
 * Who may connect and what they may do: the upgrade's subprotocol and Origin checks, JWT verification (its
 * key sources, algorithms and claim checks), anonymous access and its grants, and the operator's bearer
 * token. The rules between these options are in config-checks-auth.ts.
 */

/** The options that make tokens verifiable; any of them set: a token is required unless ALLOW_ANONYMOUS. */
export interface KeySources {
  readonly jwtSecret: string | undefined;
  readonly jwtPublicKey: string | undefined;
  readonly jwksUrl: string | undefined;
}

/** Loopback hosts, the only ones a JWKS may be fetched from without TLS (tests, a sidecar). */
const loopbackHosts = ['127.0.0.1', '[::1]', 'localhost'];

/**
 * A JWKS URL: https, because whoever can change the key set in transit can mint any token; plain http only
 * to a loopback host. No user info: the URL is logged, and a key set is public by design.
 */
const jwksUrlSchema = z.string().superRefine((value, context) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    context.addIssue({ code: 'custom', message: 'must be an https:// URL' });
    return;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackHosts.includes(url.hostname))) {
    context.addIssue({ code: 'custom', message: 'must be an https:// URL (http:// only to 127.0.0.1, [::1] or localhost)' });
  } else if (url.username !== '' || url.password !== '') {
    context.addIssue({ code: 'custom', message: 'must not carry a user name or password (a key set is public)' });
  }
});

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
    help: 'shared secret for HS256 tokens (at least 32 bytes; 48 for HS384, 64 for HS512); set: tokens are required',
  }),
  jwtPublicKey: option({
    env: 'JWT_PUBLIC_KEY',
    flag: 'jwt-public-key',
    kind: 'string',
    // Read and checked at startup (auth/jwt-public-key.ts): a file's contents are not the configuration's.
    schema: z.string().min(1),
    optional: true,
    help: 'public key for RS256/PS256, ES256/ES384 or EdDSA tokens: a PEM (-----BEGIN PUBLIC KEY-----) or the path of a PEM file, read at startup; set: tokens are required',
  }),
  jwksUrl: option({
    env: 'JWKS_URL',
    flag: 'jwks-url',
    kind: 'string',
    schema: jwksUrlSchema,
    /** Holds no password (refused), but is where an `https://user:password@` URL pasted by mistake would land. */
    secret: 'url-password',
    optional: true,
    help: 'JSON Web Key Set URL (https) of the token issuer; keys are picked by `kid` and cached; set: tokens are required',
  }),
  jwtAlgorithms: option({
    env: 'JWT_ALGORITHMS',
    flag: 'jwt-algorithms',
    kind: 'list',
    schema: z.array(z.enum(JWT_ALGORITHM_NAMES as [JwtAlgorithm, ...JwtAlgorithm[]], `must list algorithms from ${JWT_ALGORITHM_NAMES.join(', ')}`)).min(1, 'must name an algorithm'),
    // Unset: from the key sources (jwt-algorithms.ts `defaultAlgorithms`, and a PEM key's type), never from a token.
    optional: true,
    help: 'accepted token `alg` values; default: HS256 with JWT_SECRET, the key type\'s with JWT_PUBLIC_KEY (RSA: RS256,PS256; P-256: ES256; P-384: ES384; Ed25519: EdDSA), all public-key ones with JWKS_URL',
  }),
  adminToken: option({
    env: 'ADMIN_TOKEN',
    flag: 'admin-token',
    kind: 'string',
    schema: z.string().min(32, 'must be at least 32 bytes: it is a bearer secret').regex(visibleAscii, 'must be visible ASCII'),
    secret: 'whole',
    optional: true,
    help: 'bearer token for the operator endpoints (POST /admin/rebalance, /admin/users/..., /admin/subscribers, the web console at /console and its /admin API; at least 32 bytes); unset: they answer 404',
  }),
  jwtIssuer: option({
    env: 'JWT_ISSUER',
    flag: 'jwt-issuer',
    kind: 'string',
    schema: z.string().min(1),
    optional: true,
    help: 'required `iss` claim, if set (invalid_issuer otherwise)',
  }),
  jwtAudience: option({
    env: 'JWT_AUDIENCE',
    flag: 'jwt-audience',
    kind: 'string',
    schema: z.string().min(1),
    optional: true,
    help: 'required `aud` claim (or one of the token\'s list), if set (invalid_audience otherwise)',
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
  jwksRefreshIntervalMs: option({
    env: 'JWKS_REFRESH_INTERVAL',
    flag: 'jwks-refresh-interval',
    kind: 'duration',
    schema: intFrom(1000, 3_600_000),
    /**
     * jose's own cooldown: a flood of tokens naming unknown `kid`s costs the JWKS server at most one request
     * per node per 30 s, and an issuer publishes a new key before it signs with it.
     */
    default: 30_000,
    help: 'least time between two JWKS fetches: a token naming an unknown `kid` triggers one at most this often',
  }),
  jwksMaxAgeMs: option({
    env: 'JWKS_MAX_AGE',
    flag: 'jwks-max-age',
    kind: 'duration',
    schema: intFrom(1000, 86_400_000),
    /** jose's own cache age: keys removed from the set stop being accepted within 10 minutes. */
    default: 600_000,
    help: 'a key set older than this is fetched again in the background; the last good set serves meanwhile, and while the JWKS server is down',
  }),
  jwksTimeoutMs: option({
    env: 'JWKS_TIMEOUT',
    flag: 'jwks-timeout',
    kind: 'duration',
    schema: intFrom(100, 60_000),
    /** jose's own default, half of HANDSHAKE_TIMEOUT: a first fetch on an upgrade still leaves time to answer. */
    default: 5000,
    help: 'how long a JWKS fetch may take before it counts as failed',
  }),
  allowAnonymous: option({
    env: 'ALLOW_ANONYMOUS',
    flag: 'allow-anonymous',
    kind: 'boolean',
    schema: z.boolean(),
    /** Open in development (no key configured), closed as soon as tokens exist. */
    derive: (options: KeySources) => options.jwtSecret === undefined && options.jwtPublicKey === undefined && options.jwksUrl === undefined,
    help: 'accept connections without a token; default: true without a key (JWT_SECRET, JWT_PUBLIC_KEY, JWKS_URL: development), false with one',
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
    help: 'report a refused token by accepting the upgrade and closing with its close code, e.g. 4401 (browsers cannot read a 401)',
  }),
};
