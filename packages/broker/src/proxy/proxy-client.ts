import { CircuitBreaker } from './circuit-breaker.js';
import { ConcurrencyGate } from './concurrency-gate.js';

/** What a backend call is for (the `kind` label of `switchboard_proxy_calls_total`). */
export type ProxyKind = 'connect' | 'refresh' | 'subscribe' | 'publish' | 'rpc';

/**
 * How a call ended: `ok` (a 2xx with a JSON object), or why there is no answer to act on: the circuit was
 * `open`, no slot freed in time (`overloaded`), the call took too long (`timeout`), the connection failed
 * (`network`), the backend answered a non-2xx status, or a body that is not a JSON object (`invalid`).
 */
export type ProxyOutcome = 'ok' | 'open' | 'overloaded' | 'timeout' | 'network' | 'status_4xx' | 'status_5xx' | 'invalid';

export type ProxyCallResult =
  | { readonly ok: true; readonly answer: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly outcome: Exclude<ProxyOutcome, 'ok'> };

export interface ProxyClientOptions {
  readonly timeoutMs: number;
  readonly maxConcurrent: number;
  readonly breakerFailures: number;
  readonly breakerCooldownMs: number;
  /** A monotonic clock in ms (the breakers' cool-down). @default performance.now */
  readonly now?: () => number;
}

/** Outcomes that say the backend is not serving: they count towards opening its circuit. */
const breakerFailures: ReadonlySet<ProxyOutcome> = new Set(['timeout', 'network', 'status_5xx', 'invalid']);

/**
 * POSTs JSON to the application's backend and reads its JSON answer: one timeout per call (the wait for a
 * slot included), at most `maxConcurrent` calls in flight per node, and a circuit breaker per URL, so that a
 * dead backend is not waited on by every request. Never throws; `close()` aborts the calls in flight.
 */
export class ProxyClient {
  readonly options: ProxyClientOptions;
  private readonly gate: ConcurrencyGate;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly closing = new AbortController();
  /** Calls by kind and outcome, since start (read by proxy-metrics.ts). */
  readonly calls = new Map<string, number>();

  constructor(options: ProxyClientOptions) {
    this.options = options;
    this.gate = new ConcurrencyGate(options.maxConcurrent);
  }

  get inFlight(): number {
    return this.gate.inFlight;
  }

  /** Every URL's breaker, by URL (metrics, tests). */
  get circuits(): ReadonlyMap<string, CircuitBreaker> {
    return this.breakers;
  }

  breakerFor(url: string): CircuitBreaker {
    let breaker = this.breakers.get(url);
    if (breaker === undefined) {
      const { breakerFailures: failures, breakerCooldownMs: cooldownMs, now = () => performance.now() } = this.options;
      breaker = new CircuitBreaker({ failures, cooldownMs, now });
      this.breakers.set(url, breaker);
    }
    return breaker;
  }

  async call(kind: ProxyKind, url: string, body: unknown): Promise<ProxyCallResult> {
    const result = await this.attempt(url, body);
    const outcome = result.ok ? 'ok' : result.outcome;
    const key = `${kind} ${outcome}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    return result;
  }

  private async attempt(url: string, body: unknown): Promise<ProxyCallResult> {
    const breaker = this.breakerFor(url);
    if (!breaker.admit()) return { ok: false, outcome: 'open' };
    // A timer of our own, not AbortSignal.timeout(): inside AbortSignal.any() Node 20 holds that signal only
    // weakly, and once garbage-collected it never fires (nodejs/node#55428), so a backend that never answers
    // would hold the call, and its concurrency slot, forever.
    const expiry = new AbortController();
    const timer = setTimeout(() => expiry.abort(), this.options.timeoutMs);
    const signal = AbortSignal.any([this.closing.signal, expiry.signal]);
    let result: ProxyCallResult;
    try {
      if (!(await this.gate.acquire(signal))) {
        breaker.released();
        return { ok: false, outcome: 'overloaded' };
      }
      try {
        result = await post(url, body, signal);
      } finally {
        this.gate.release();
      }
    } finally {
      clearTimeout(timer);
    }
    if (result.ok) breaker.succeeded();
    else if (breakerFailures.has(result.outcome)) breaker.failed();
    else breaker.released();
    return result;
  }

  /** Aborts the calls in flight (they end as `timeout`). */
  close(): void {
    this.closing.abort();
  }
}

async function post(url: string, body: unknown, signal: AbortSignal): Promise<ProxyCallResult> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'switchboard-proxy' },
      body: JSON.stringify(body),
      signal,
    });
  } catch {
    return { ok: false, outcome: signal.aborted ? 'timeout' : 'network' };
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    return { ok: false, outcome: signal.aborted ? 'timeout' : 'network' };
  }
  if (!response.ok) return { ok: false, outcome: response.status >= 500 ? 'status_5xx' : 'status_4xx' };
  try {
    const answer: unknown = JSON.parse(text);
    if (typeof answer === 'object' && answer !== null && !Array.isArray(answer)) return { ok: true, answer: answer as Record<string, unknown> };
  } catch {
    // Falls through: not JSON.
  }
  return { ok: false, outcome: 'invalid' };
}
