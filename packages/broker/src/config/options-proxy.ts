import { z } from 'zod';
import { option } from './option.js';
import { intFrom } from './option-schemas.js';
import { webhookUrlSchema } from './options-webhooks.js';

/**
 * The backend proxy (docs/operations.md "Backend proxy", protocol.md "Backend proxy"): the broker asks the
 * application's backend, by HTTP POSTs of JSON, who a connection is (connect), whether its session goes on
 * (refresh), whether a subscribe or publish may happen (per namespace), and what an `rpc` answers. Each kind
 * has its own URL; unset, that kind is decided as without a proxy (JWT grants, no `rpc`).
 */

const urlOption = (env: string, flag: string, help: string) =>
  option({ env, flag, kind: 'string', schema: webhookUrlSchema, optional: true, help });

/** A namespace's `proxy`: its own subscribe and publish endpoints, or `false` to decide them by grants there. */
export const namespaceProxySchema = z
  .strictObject({
    subscribe: z.union([webhookUrlSchema, z.literal(false)]).optional(),
    publish: z.union([webhookUrlSchema, z.literal(false)]).optional(),
  })
  .optional();

export type NamespaceProxyOptions = z.output<typeof namespaceProxySchema>;

export const proxyOptions = {
  proxyConnectUrl: urlOption(
    'PROXY_CONNECT_URL',
    'proxy-connect-url',
    'the backend decides each upgrade from its cookies and headers (user, info, grants, subscriptions, expiry); replaces JWT authentication',
  ),
  proxyRefreshUrl: urlOption('PROXY_REFRESH_URL', 'proxy-refresh-url', 'the backend extends (or ends) a connection whose session expires'),
  proxySubscribeUrl: urlOption('PROXY_SUBSCRIBE_URL', 'proxy-subscribe-url', 'the backend decides every subscribe (a namespace may set its own, or false)'),
  proxyPublishUrl: urlOption('PROXY_PUBLISH_URL', 'proxy-publish-url', 'the backend decides every client publish and may replace its payload (a namespace may set its own, or false)'),
  proxyRpcUrl: urlOption('PROXY_RPC_URL', 'proxy-rpc-url', 'the backend answers client `rpc` calls; unset: rpc is not offered'),
  proxyTimeoutMs: option({
    env: 'PROXY_TIMEOUT',
    flag: 'proxy-timeout',
    kind: 'duration',
    schema: intFrom(50, 60_000),
    /** A backend decision sits in a user's click path: beyond 5 s the client is better told `unavailable`. */
    default: 5000,
    help: 'how long one backend call may take (waiting for a free slot included); beyond, the request fails with unavailable',
  }),
  proxyMaxConcurrent: option({
    env: 'PROXY_MAX_CONCURRENT',
    flag: 'proxy-max-concurrent',
    kind: 'int',
    schema: intFrom(1, 100_000),
    /** A reconnect storm of thousands of clients must not open thousands of requests to the backend at once. */
    default: 64,
    help: 'backend calls in flight per node; more wait for a slot (within PROXY_TIMEOUT)',
  }),
  proxyBreakerFailures: option({
    env: 'PROXY_BREAKER_FAILURES',
    flag: 'proxy-breaker-failures',
    kind: 'int',
    schema: intFrom(1, 10_000),
    /** Five in a row is no fluke, and few enough that a dead backend costs five timeouts, not thousands. */
    default: 5,
    help: 'consecutive failed calls (network error, timeout, 5xx, invalid answer) to one URL that open its circuit: calls then fail at once with unavailable',
  }),
  proxyBreakerCooldownMs: option({
    env: 'PROXY_BREAKER_COOLDOWN',
    flag: 'proxy-breaker-cooldown',
    kind: 'duration',
    schema: intFrom(10, 3_600_000),
    /** About a backend restart; clients retry unavailable with backoff meanwhile. */
    default: 5000,
    help: 'how long an open circuit fails calls before one probe call is let through (half-open); its success closes the circuit',
  }),
  proxyHeaders: option({
    env: 'PROXY_HEADERS',
    flag: 'proxy-headers',
    kind: 'list',
    schema: z.array(z.string().regex(/^[!#$%&'*+.^_`|~0-9a-z-]+$/, 'must be lower-case header names')),
    /** What a session lookup needs; not every header (a proxy in front may add secrets of its own). */
    default: ['cookie', 'authorization', 'origin', 'user-agent', 'x-forwarded-for', 'x-real-ip', 'accept-language'],
    help: 'the upgrade request headers sent to the connect, refresh, subscribe, publish and rpc endpoints (lower case)',
  }),
};
