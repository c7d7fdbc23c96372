import t from 'tap';
import { Histogram, Registry } from 'prom-client';
import { ExportedHistogram } from '../../src/http/metrics-histogram.js';
import { LatencyHistogram } from '../../src/stats.js';

/**
 * The allocation-free histogram the hot paths fill, and its export through prom-client: held to a real
 * prom-client `Histogram` fed the same observations, in text and JSON, so a prom-client upgrade that changes
 * how the registry reads histograms fails here rather than in a dashboard.
 */

const observations = [0, 0.00005, 0.0001, 0.0003, 0.001, 0.0042, 0.02, 0.02, 0.7, 3, 9.99, 10, 12, 60];

t.test('LatencyHistogram: a value on a bound counts in that bucket; above every bound in the last slot', async (t) => {
  const histogram = new LatencyHistogram([0.001, 0.01]);
  for (const value of [0.0005, 0.001, 0.0011, 0.01, 0.5]) histogram.observe(value);
  t.same([...histogram.counts], [2, 2, 1]);
  t.equal(histogram.count, 5);
  t.equal(histogram.sum, 0.0005 + 0.001 + 0.0011 + 0.01 + 0.5);
});

t.test('LatencyHistogram: a negative duration (clocks of two machines) or NaN counts as 0', async (t) => {
  const histogram = new LatencyHistogram([0.001]);
  histogram.observe(-0.25);
  histogram.observe(Number.NaN);
  t.same([...histogram.counts], [2, 0]);
  t.equal(histogram.sum, 0);
  t.equal(histogram.count, 2);
});

t.test('ExportedHistogram: the same text and JSON as prom-client\'s Histogram with the same observations', async (t) => {
  const ours = new Registry();
  const theirs = new Registry();
  for (const registry of [ours, theirs]) registry.setDefaultLabels({ node: 'n1' });
  const fast = new LatencyHistogram();
  const slow = new LatencyHistogram();
  new ExportedHistogram(ours, 'x_latency_seconds', 'help text', [
    { labels: { source: 'websocket' }, histogram: fast },
    { labels: { source: 'http' }, histogram: slow },
  ]);
  const reference = new Histogram({
    name: 'x_latency_seconds',
    help: 'help text',
    labelNames: ['source'],
    buckets: [...LatencyHistogram.defaultBounds],
    registers: [theirs],
  });
  for (const value of observations) {
    fast.observe(value);
    reference.observe({ source: 'websocket' }, value);
  }
  slow.observe(0.3);
  reference.observe({ source: 'http' }, 0.3);
  const text = await ours.metrics();
  t.equal(text, await theirs.metrics());
  t.match(text, /^x_latency_seconds_bucket\{le="0\.00025",node="n1",source="websocket"\} 3$/m, 'cumulative counts, labelled');
  t.match(text, /^x_latency_seconds_count\{node="n1",source="websocket"\} 14$/m);
  // JSON (Registry.getMetricsAsJSON, used for cluster aggregation): the same samples and labels.
  const samples = async (registry: Registry) =>
    (await registry.getMetricsAsJSON()).map(({ name, help, type, values }) => ({
      name,
      help,
      type,
      values: values.map(({ value, labels, metricName }: { value: number; labels: object; metricName?: string }) => ({ value, labels, metricName })),
    }));
  t.same(await samples(ours), await samples(theirs));
});

t.test('ExportedHistogram: an unlabelled histogram, read again at each scrape', async (t) => {
  const ours = new Registry();
  const histogram = new LatencyHistogram();
  new ExportedHistogram(ours, 'y_seconds', 'help', [{ labels: {}, histogram }]);
  t.match(await ours.metrics(), /^y_seconds_count 0$/m);
  histogram.observe(0.002);
  const text = await ours.metrics();
  t.match(text, /^y_seconds_bucket\{le="0\.0025"\} 1$/m);
  t.match(text, /^y_seconds_bucket\{le="0\.001"\} 0$/m);
  t.match(text, /^y_seconds_sum 0\.002$/m);
  t.throws(() => new ExportedHistogram(ours, 'z_seconds', 'help', []), RangeError);
});
