import type { IncomingHttpHeaders } from 'node:http';
import { ProtocolErrorCode } from '@switchboard/protocol';
import type { AuthHook, AuthOutcome, AuthRequest } from '../auth/authenticator.js';
import type { Config } from '../config/config.js';
import {
  type PublishAnswer,
  type RequestRefusal,
  readConnectAnswer,
  readPublishAnswer,
  readRefreshAnswer,
  readRpcAnswer,
  readSubscribeAnswer,
} from './proxy-answers.js';
import { type ProxyCallResult, ProxyClient, type ProxyKind } from './proxy-client.js';
import { ProxyRoutes } from './proxy-routes.js';

/** Who asks: what every call but connect tells the backend of the connection. */
export interface ProxyRequester {
  readonly connectionId: string;
  readonly user: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
}

/** The backend gave no usable answer: the request fails with `unavailable` (retryable). */
export interface ProxyUnavailable {
  readonly unavailable: string;
}

export type ProxyDecision<Answer> = Answer | { readonly refusal: RequestRefusal } | ProxyUnavailable;

export type ProxyConfig = Pick<
  Config,
  | 'namespaces'
  | 'proxyConnectUrl'
  | 'proxyRefreshUrl'
  | 'proxySubscribeUrl'
  | 'proxyPublishUrl'
  | 'proxyRpcUrl'
  | 'proxyTimeoutMs'
  | 'proxyMaxConcurrent'
  | 'proxyBreakerFailures'
  | 'proxyBreakerCooldownMs'
  | 'proxyHeaders'
>;

/**
 * The broker asking the application's backend (docs/operations.md "Backend proxy", protocol.md "Backend
 * proxy"): connect, refresh, subscribe, publish and rpc, each a POST of JSON to its endpoint through one
 * `ProxyClient` (timeout, concurrency cap, circuit breaker). Every method resolves, never throws: a call
 * without a usable answer is `unavailable`, never an allow.
 */
export class BackendProxy {
  readonly client: ProxyClient;
  readonly routes: ProxyRoutes;
  private readonly config: ProxyConfig;
  private readonly forwarded: ReadonlySet<string>;

  constructor(config: ProxyConfig, now?: () => number) {
    this.config = config;
    this.routes = new ProxyRoutes(config);
    this.forwarded = new Set(config.proxyHeaders);
    this.client = new ProxyClient({
      timeoutMs: config.proxyTimeoutMs,
      maxConcurrent: config.proxyMaxConcurrent,
      breakerFailures: config.proxyBreakerFailures,
      breakerCooldownMs: config.proxyBreakerCooldownMs,
      ...(now === undefined ? {} : { now }),
    });
  }

  /** A proxy when any of its endpoints is configured. */
  static fromConfig(config: ProxyConfig): BackendProxy | undefined {
    const any = [config.proxyConnectUrl, config.proxyRefreshUrl, config.proxyRpcUrl].some((url) => url !== undefined);
    const proxy = new BackendProxy(config);
    return any || proxy.routes.any ? proxy : undefined;
  }

  get refreshes(): boolean {
    return this.config.proxyRefreshUrl !== undefined;
  }

  get servesRpc(): boolean {
    return this.config.proxyRpcUrl !== undefined;
  }

  /**
   * The connect proxy as the broker's auth hook: upgrades are decided by the backend; `refresh` messages
   * (which carry a token) and HTTP requests go to `fallback` (the built-in JWT check). Undefined without
   * PROXY_CONNECT_URL.
   */
  authenticator(fallback: AuthHook): AuthHook | undefined {
    const url = this.config.proxyConnectUrl;
    if (url === undefined) return undefined;
    return (request) => (request.kind === 'connect' ? this.connect(url, request) : fallback(request));
  }

  private async connect(url: string, request: AuthRequest): Promise<AuthOutcome> {
    const result = await this.client.call('connect', url, { ...this.described(request.headers, request.remoteAddress) });
    const read = result.ok ? readConnectAnswer(result.answer) : undefined;
    if (read === undefined) return { ok: false, code: ProtocolErrorCode.unavailable, message: unavailableText('connect', result) };
    if (!read.ok) return { ok: false, code: read.refusal.code, message: read.refusal.reason };
    const { user, info, grants, subscriptions, expiresAt } = read.answer;
    return {
      ok: true,
      identity: {
        subject: user,
        grants: { publish: grants?.publish ?? [], subscribe: grants?.subscribe ?? [] },
        ...(expiresAt === undefined ? {} : { expiresAt }),
        ...(info === undefined ? {} : { info }),
        ...(subscriptions === undefined ? {} : { subscriptions }),
      },
    };
  }

  /** A session reaching its expiry: a new expiry, or the backend ending it (`refused`). */
  async refresh(requester: ProxyRequester): Promise<{ readonly expiresAt: number } | { readonly refused: string } | ProxyUnavailable> {
    const url = this.config.proxyRefreshUrl;
    if (url === undefined) return { unavailable: 'no refresh proxy' };
    const result = await this.call('refresh', url, requester, {});
    return (result.ok ? readRefreshAnswer(result.answer) : undefined) ?? { unavailable: unavailableText('refresh', result) };
  }

  async subscribe(url: string, requester: ProxyRequester, pattern: string): Promise<ProxyDecision<{ readonly allow: true }>> {
    const result = await this.call('subscribe', url, requester, { pattern });
    return (result.ok ? readSubscribeAnswer(result.answer) : undefined) ?? { unavailable: unavailableText('subscribe', result) };
  }

  /** `data` for a JSON payload, `dataBase64` for a binary one (as the backend answers a replacement). */
  async publish(url: string, requester: ProxyRequester, topic: string, payload: { data: unknown } | { dataBase64: string }): Promise<ProxyDecision<PublishAnswer>> {
    const result = await this.call('publish', url, requester, { topic, ...payload });
    return (result.ok ? readPublishAnswer(result.answer) : undefined) ?? { unavailable: unavailableText('publish', result) };
  }

  async rpc(requester: ProxyRequester, method: string, data: unknown): Promise<ProxyDecision<{ readonly data: unknown }>> {
    const url = this.config.proxyRpcUrl;
    if (url === undefined) return { unavailable: 'rpc is not served' };
    const result = await this.call('rpc', url, requester, { method, data });
    return (result.ok ? readRpcAnswer(result.answer) : undefined) ?? { unavailable: unavailableText('rpc', result) };
  }

  close(): void {
    this.client.close();
  }

  private call(kind: ProxyKind, url: string, requester: ProxyRequester, fields: Record<string, unknown>): Promise<ProxyCallResult> {
    return this.client.call(kind, url, {
      connectionId: requester.connectionId,
      ...(requester.user === undefined ? {} : { user: requester.user }),
      ...fields,
      ...this.described(requester.headers, requester.remoteAddress),
    });
  }

  /** The request as the backend sees it: the allowed headers (PROXY_HEADERS), the cookies parsed, the address. */
  private described(headers: IncomingHttpHeaders, remoteAddress: string | undefined): Record<string, unknown> {
    const chosen: Record<string, string> = {};
    for (const name of this.forwarded) {
      const value = headers[name];
      if (value !== undefined) chosen[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const cookieHeader = this.forwarded.has('cookie') ? headers.cookie : undefined;
    return { headers: chosen, cookies: cookieHeader === undefined ? {} : parseCookies(cookieHeader), ...(remoteAddress === undefined ? {} : { remoteAddress }) };
  }
}

/** `a=1; b=2` as `{a: '1', b: '2'}` (RFC 6265 §5.4: the first of a repeated name wins; values undecoded). */
export function parseCookies(header: string): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals <= 0) continue;
    const name = pair.slice(0, equals).trim();
    let value = pair.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name !== '' && !Object.hasOwn(cookies, name)) cookies[name] = value;
  }
  return cookies;
}

function unavailableText(kind: ProxyKind, result: ProxyCallResult): string {
  const why = result.ok ? 'an answer that fits no documented shape' : describeOutcome(result.outcome);
  return `the backend could not decide the ${kind} (${why}); retry later`;
}

function describeOutcome(outcome: Exclude<ProxyCallResult, { ok: true }>['outcome']): string {
  switch (outcome) {
    case 'open':
      return 'circuit open';
    case 'overloaded':
      return 'too many calls in flight';
    case 'timeout':
      return 'timed out';
    case 'network':
      return 'unreachable';
    case 'status_4xx':
    case 'status_5xx':
      return 'error status';
    case 'invalid':
      return 'not a JSON object';
  }
}
