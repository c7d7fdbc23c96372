import type { GapMessage } from '@switchboard/protocol';
import t from 'tap';
import type { Broker } from '../../src/broker.js';
import type { HistoryQuery, HistoryResult } from '../../src/engine/engine.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { eventually, startBroker } from '../helpers/start-broker.js';

/**
 * Slow consumers (issue 3, "Must show"): one subscriber stops reading; the others keep receiving
 * everything; the broker's queue for the slow one never exceeds its cap; the slow one gets gap notices
 * (drop-oldest, conflate) or is closed with 4001 (disconnect), and a loss is never silent.
 */

const KiB = 1024;
const cap = 256 * KiB;
const limits = { maxQueuedBytes: cap, maxMessageBytes: 64 * KiB, chunkBytes: 64 * KiB };

/** A metric's value from the broker's own Prometheus text. */
async function metric(broker: Broker, name: string, labels = ''): Promise<number> {
  const text = await broker.metrics.metrics();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Offsets a peer has accounted for on `topic`: delivered, or announced lost by a gap. */
function accounted(peer: Peer, topic: string): { delivered: number[]; gaps: GapMessage[]; covered: Set<number> } {
  const delivered = peer.deliveries.filter((delivery) => delivery.topic === topic).map((delivery) => delivery.offset);
  const gaps = peer.messages.filter((message): message is GapMessage => message.op === 'gap' && message.topic === topic);
  const covered = new Set(delivered);
  for (const gap of gaps) for (let offset = gap.from; offset <= gap.to; offset++) covered.add(offset);
  return { delivered, gaps, covered };
}

t.test('drop-oldest: the others get everything, the slow one stays under its cap and gets gap notices', async (t) => {
  const { url, broker } = await startBroker(t, limits);
  const fast = await Promise.all([Peer.open(url), Peer.open(url)]);
  const slow = await Peer.open(url);
  const publisher = await Peer.open(url);
  t.teardown(() => Promise.all([...fast, slow, publisher].map((peer) => peer.close())));
  for (const peer of [...fast, slow]) await peer.subscribe('ticks');
  const session = broker.session(slow.welcome.connectionId);
  if (session === undefined) throw new Error('no session');

  slow.pause();
  const payload = 'x'.repeat(8 * KiB);
  const total = 1500; // 12 MB: far beyond the kernel's socket buffers plus the cap
  let peakQueued = 0;
  let visibleBeforeDrop = false;
  for (let sent = 0; sent < total; ) {
    const batch = [];
    for (let index = 0; index < 5 && sent < total; index++, sent++) batch.push(publisher.publish('ticks', { n: sent, payload }));
    await Promise.all(batch);
    peakQueued = Math.max(peakQueued, session.queue.queuedBytes);
    t.ok(session.queue.queuedBytes <= cap, 'queued bytes never exceed the cap') || t.bailout('cap exceeded');
    if (!visibleBeforeDrop && session.queue.queuedBytes > 0 && broker.stats.deliveriesDropped === 0) {
      visibleBeforeDrop = (await metric(broker, 'switchboard_send_queue_max_connection_bytes')) > 0;
    }
  }
  t.ok(peakQueued > cap / 2, `the slow connection's queue filled up (peak ${peakQueued} of ${cap} bytes)`);
  t.ok(visibleBeforeDrop, 'queue depth showed in /metrics before anything was dropped');
  t.ok(broker.stats.deliveriesDropped > 0, 'deliveries for the slow one were dropped');
  t.equal(session.state, 'open', 'drop-oldest keeps the connection');

  for (const peer of fast) {
    const deliveries = await peer.waitForDeliveries(total, 30_000);
    t.same(
      deliveries.map((delivery) => (delivery.data as { n: number }).n),
      Array.from({ length: total }, (_, index) => index),
      'a fast subscriber got every message, in order',
    );
  }

  slow.resume();
  await eventually(() => accounted(slow, 'ticks').covered.size === total, 30_000, 'every offset delivered or announced');
  const { delivered, gaps, covered } = accounted(slow, 'ticks');
  t.ok(gaps.length > 0, `gap notices arrived (${gaps.length})`);
  t.ok(
    gaps.every((gap) => gap.reason === 'slow_consumer' && gap.epoch === slow.deliveries[0]?.epoch),
    'gap reason slow_consumer, in the delivery epoch',
  );
  t.ok(delivered.length < total, `the slow one got ${delivered.length} of ${total}; the rest are announced`);
  t.same(
    delivered,
    [...delivered].sort((a, b) => a - b),
    'what it got is in order',
  );
  const lost = gaps.reduce((sum, gap) => sum + gap.to - gap.from + 1, 0);
  t.equal(lost + delivered.length, total, 'gaps and deliveries never overlap');
  t.equal(covered.size, total, 'no offset is missing without a notice');
  t.ok((await metric(broker, 'switchboard_gap_notices_total', 'reason="slow_consumer"')) > 0, 'gap notices counted in /metrics');
  t.ok((await metric(broker, 'switchboard_deliveries_dropped_total')) > 0, 'drops counted in /metrics');
});

t.test('conflate: the slow one keeps only the latest value per topic and is told what it skipped', async (t) => {
  const { url, broker } = await startBroker(t, { ...limits, slowConsumerRules: [{ pattern: 'prices.>', policy: 'conflate' }] });
  const slow = await Peer.open(url);
  const publisher = await Peer.open(url);
  t.teardown(() => Promise.all([slow.close(), publisher.close()]));
  await slow.subscribe('prices.*');
  const session = broker.session(slow.welcome.connectionId);
  if (session === undefined) throw new Error('no session');
  slow.pause();
  const payload = 'p'.repeat(4 * KiB);
  const total = 2000; // 8 MB on one topic
  for (let sent = 0; sent < total; ) {
    const batch = [];
    for (let index = 0; index < 20 && sent < total; index++, sent++) batch.push(publisher.publish('prices.AAPL', { price: sent, payload }));
    await Promise.all(batch);
    t.ok(session.queue.queuedBytes <= cap) || t.bailout('cap exceeded');
  }
  slow.resume();
  await eventually(() => accounted(slow, 'prices.AAPL').covered.size === total, 30_000, 'every offset delivered or announced');
  const { delivered, gaps } = accounted(slow, 'prices.AAPL');
  t.equal(delivered.at(-1), total, 'the latest value is delivered');
  t.equal((slow.deliveries.at(-1)?.data as { price: number }).price, total - 1);
  t.ok(gaps.length > 0 && gaps.every((gap) => gap.reason === 'conflation'), 'replaced values are announced as conflation');
  t.ok(delivered.length < total / 2, `most intermediate values were conflated (${delivered.length} delivered)`);
  t.ok((await metric(broker, 'switchboard_gap_notices_total', 'reason="conflation"')) > 0);
});

t.test('disconnect: a topic that must not lose messages closes the slow one with 4001', async (t) => {
  const { url, broker } = await startBroker(t, {
    ...limits,
    slowConsumerRules: [{ pattern: 'critical.>', policy: 'disconnect' }],
    closeTimeoutMs: 30_000,
  });
  const fast = await Peer.open(url);
  const slow = await Peer.open(url);
  const publisher = await Peer.open(url);
  t.teardown(() => Promise.all([fast.close(), slow.close(), publisher.close()]));
  for (const peer of [fast, slow]) await peer.subscribe('critical.>');
  const session = broker.session(slow.welcome.connectionId);
  if (session === undefined) throw new Error('no session');
  slow.pause();
  const payload = 'c'.repeat(8 * KiB);
  let sent = 0;
  while (session.state === 'open' && sent < 5000) {
    const batch = [];
    for (let index = 0; index < 5; index++, sent++) batch.push(publisher.publish('critical.orders', { n: sent, payload }));
    await Promise.all(batch);
    t.ok(session.queue.queuedBytes <= cap) || t.bailout('cap exceeded');
  }
  t.not(session.state, 'open', `the broker gave up on the slow one after ${sent} messages`);
  t.equal(broker.stats.slowConsumerCloses, 1);
  t.equal(await metric(broker, 'switchboard_slow_consumer_closes_total'), 1, 'counted in /metrics');
  slow.resume();
  const closed = await slow.waitClosed(20_000);
  t.equal(closed.code, 4001, 'closed with slow_consumer (reconnect with backoff, then recover)');
  t.notOk(slow.messages.some((message) => message.op === 'gap'), 'no gap: this policy never drops');
  const deliveries = await fast.waitForDeliveries(sent, 30_000);
  t.equal(deliveries.length, sent, 'the fast subscriber got everything');
  t.equal(fast.ws.readyState, 1, 'and stays connected');
});

/** A memory engine whose history reads wait until the test lets them go: a slow history backend. */
class SlowHistoryEngine extends MemoryEngine {
  gate: Promise<void> | undefined;

  override async history(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    await this.gate;
    return super.history(topic, query);
  }
}

t.test('a recovery whose history read is slow: live deliveries wait, up to the queue cap; past it, 4001', async (t) => {
  const engine = new SlowHistoryEngine();
  const { url, broker } = await startBroker(t, limits, { engine });
  const [publisher, patient, flooded] = await Promise.all([Peer.open(url), Peer.open(url), Peer.open(url)]);
  t.teardown(() => Promise.all([publisher, patient, flooded].map((peer) => peer.close())));
  const first = (await publisher.publish('feed', 'before')) as { offset: number; epoch: string };
  const since = { feed: { offset: first.offset - 1, epoch: first.epoch } };

  // A little live traffic while the read is slow: it waits, then follows the replay in order.
  let release!: () => void;
  engine.gate = new Promise((resolve) => (release = resolve));
  const patientAck = patient.subscribe('feed', { since });
  await eventually(() => broker.session(patient.welcome.connectionId)?.subscriptionCount === 1, 5000, 'subscribe in progress');
  for (const n of [1, 2, 3]) await publisher.publish('feed', n);
  release();
  t.match(await patientAck, { op: 'subscribed', recovery: { feed: { status: 'recovered' } } });
  await patient.waitForDeliveries(4);
  t.same(patient.deliveries.map((delivery) => delivery.data), ['before', 1, 2, 3], 'replay first, then what waited, in order');

  // More than the send queue's cap arrives while the read waits: closed as a slow consumer, not buffered.
  engine.gate = new Promise((resolve) => (release = resolve));
  t.teardown(() => release());
  void flooded.subscribe('feed', { since }).catch(() => undefined);
  await eventually(() => broker.session(flooded.welcome.connectionId)?.subscriptionCount === 1, 5000, 'subscribe in progress');
  const filler = 'x'.repeat(16 * KiB);
  for (let n = 0; n < 20 && flooded.ws.readyState === 1; n++) await publisher.publish('feed', filler);
  t.same(await flooded.waitClosed(), { code: 4001, reason: 'deliveries waiting for a recovery over the send queue cap' });
  t.equal(patient.ws.readyState, 1, 'the other subscriber is untouched');
});
