import { Histogram, type Registry } from 'prom-client';
import type { LatencyHistogram } from '../stats.js';

/** One series of an exported histogram: its label values and the histogram the hot path fills. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly histogram: LatencyHistogram;
}

/** A sample as prom-client's registry formats it: `labels` (here `le`) are the sample's, `sharedLabels` the series'. */
interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly metricName: string;
}

/**
 * A prom-client histogram whose numbers come from {@link LatencyHistogram}s, read at scrape time: the
 * registry sees an ordinary `Histogram` (same TYPE, `_bucket{le}` / `_sum` / `_count` samples, default labels
 * added, JSON through `get()`), while the hot paths never call prom-client's allocating `observe`.
 *
 * prom-client's registry formats a metric from `getForPromString()` when it has one (histograms do) and
 * `Histogram.get()` builds on it, so that is the one method replaced. A test holds the output to a real
 * prom-client `Histogram` fed the same observations (test/http/metrics-histogram.test.ts).
 */
export class ExportedHistogram extends Histogram<string> {
  private readonly series: readonly HistogramSeries[];
  private readonly bounds: readonly number[];
  // prom-client keeps these on the instance too, untyped.
  private readonly exportedName: string;
  private readonly exportedHelp: string;

  constructor(registry: Registry, name: string, help: string, series: readonly HistogramSeries[]) {
    const first = series[0];
    if (first === undefined) throw new RangeError(`${name}: a histogram needs at least one series`);
    const bounds = first.histogram.bounds;
    super({ name, help, labelNames: Object.keys(first.labels), buckets: [...bounds], registers: [registry] });
    this.series = series;
    this.bounds = bounds;
    this.exportedName = name;
    this.exportedHelp = help;
  }

  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] }> {
    const name = this.exportedName;
    const bucketName = `${name}_bucket`;
    const values: Sample[] = [];
    for (const { labels, histogram } of this.series) {
      let cumulative = 0;
      this.bounds.forEach((bound, index) => {
        cumulative += histogram.counts[index] as number;
        values.push({ labels: { le: bound }, sharedLabels: labels, value: cumulative, metricName: bucketName });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: labels, value: histogram.count, metricName: bucketName });
      values.push({ labels: {}, sharedLabels: labels, value: histogram.sum, metricName: `${name}_sum` });
      values.push({ labels: {}, sharedLabels: labels, value: histogram.count, metricName: `${name}_count` });
    }
    return { name, help: this.exportedHelp, type: 'histogram', aggregator: 'sum', values };
  }
}
