import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Prometheus series read from plain counters at scrape time, so the hot path only increments numbers and
 * prom-client is touched once per scrape. Counters report the growth since the previous scrape (a source
 * that restarts from zero is never reported as going backwards).
 */
export function scrapedGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

export function scrapedCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  let reported = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      if (value > reported) this.inc(value - reported);
      reported = value;
    },
  });
}

/** A counter with one label, read from a map of label value to running total. */
export function scrapedLabelledCounter<K extends string | number>(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  totals: ReadonlyMap<K, number>,
): Counter {
  const reported = new Map<K, number>();
  return new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [key, value] of totals) {
        const before = reported.get(key) ?? 0;
        if (value > before) this.inc({ [label]: String(key) }, value - before);
        reported.set(key, value);
      }
    },
  });
}
