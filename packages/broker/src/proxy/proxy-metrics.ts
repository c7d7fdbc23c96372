import { Counter, Gauge, type Registry } from 'prom-client';
import type { BreakerState } from './circuit-breaker.js';
import type { ProxyClient } from './proxy-client.js';

const stateValue: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * The backend proxy's series in the broker's registry (docs/operations.md "Metrics"), read at scrape time;
 * counters report the growth since the previous scrape, as `http/metrics.ts` does.
 */
export function registerProxyMetrics(registry: Registry, client: ProxyClient): void {
  const reported = new Map<string, number>();
  new Counter({
    name: 'switchboard_proxy_calls_total',
    help: 'Backend proxy calls, by kind (connect, refresh, subscribe, publish, rpc) and outcome (ok, open, overloaded, timeout, network, status_4xx, status_5xx, invalid).',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
    collect() {
      for (const [key, value] of client.calls) {
        const before = reported.get(key) ?? 0;
        const [kind = '', outcome = ''] = key.split(' ');
        if (value > before) this.inc({ kind, outcome }, value - before);
        reported.set(key, value);
      }
    },
  });
  new Gauge({
    name: 'switchboard_proxy_breaker_state',
    help: 'Each backend endpoint circuit: 0 closed, 1 half-open (a probe may pass), 2 open (calls fail at once with unavailable).',
    labelNames: ['endpoint'],
    registers: [registry],
    collect() {
      for (const [url, breaker] of client.circuits) this.set({ endpoint: endpointLabel(url) }, stateValue[breaker.state]);
    },
  });
  const opened = new Map<string, number>();
  new Counter({
    name: 'switchboard_proxy_breaker_opened_total',
    help: 'Times a backend endpoint circuit opened.',
    labelNames: ['endpoint'],
    registers: [registry],
    collect() {
      for (const [url, breaker] of client.circuits) {
        const before = opened.get(url) ?? 0;
        if (breaker.opened > before) this.inc({ endpoint: endpointLabel(url) }, breaker.opened - before);
        opened.set(url, breaker.opened);
      }
    },
  });
  new Gauge({
    name: 'switchboard_proxy_calls_in_flight',
    help: 'Backend proxy calls in flight (at most PROXY_MAX_CONCURRENT).',
    registers: [registry],
    collect() {
      this.set(client.inFlight);
    },
  });
}

/** Origin and path: a query string may carry a key, and labels are public. */
function endpointLabel(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
