import { type Metric, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * prom-client's default metrics (CPU, resident memory, heap, event-loop lag, GC durations, handles, file
 * descriptors), collected once per process: starting them installs an event-loop delay monitor and a GC
 * observer that are never stopped, so every broker of a process (tests run several) shares one set.
 */
let processRegistry: Registry | undefined;

/**
 * Registers the process metrics in `registry` beside the broker's own, so they get its default labels
 * (`node`) at scrape time. The metric objects are shared; only their labels differ per registry.
 */
export function registerProcessMetrics(registry: Registry): void {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  // getMetricsAsArray is typed as plain metric objects, but returns the Counter/Gauge/Histogram instances.
  for (const metric of processRegistry.getMetricsAsArray()) registry.registerMetric(metric as unknown as Metric);
}
