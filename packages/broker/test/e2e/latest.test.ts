import type { DeliveryMessage, LatestResult, ServerMessage } from '@switchboard/protocol';
import t, { type Test } from 'tap';
import { Peer } from '../helpers/pubsub-peer.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { type TestBroker, eventually, startBroker } from '../helpers/start-broker.js';

/**
 * Latest-value topics (issue 17, protocol.md §8.6): in a namespace with `latest`, a subscribe without `since`
 * to a topic gets its latest publication first, from history, then the live ones with no gap and no
 * duplicate, while a publisher hammers the topic. On both engines: memory (one node), and Redis (the
 * publisher on another node than the subscribers).
 */

const namespaces = { 'prices.': { latest: true, historySize: 1 }, 'plain.': { historySize: 10 } };

interface Nodes {
  /** Where the subscribers connect. */
  readonly subscribers: TestBroker;
  /** Where the publisher connects (another node on Redis). */
  readonly publishers: TestBroker;
}

const engines: Record<string, (t: Test) => Promise<Nodes>> = {
  memory: async (t) => {
    const broker = await startBroker(t, { namespaces });
    return { subscribers: broker, publishers: broker };
  },
  redis: async (t) => {
    const redis = await startRedisServer();
    t.teardown(() => redis.destroy());
    const a = await startBroker(t, { namespaces, redisUrl: redis.url, nodeName: 'node-a' });
    const b = await startBroker(t, { namespaces, redisUrl: redis.url, nodeName: 'node-b' });
    return { subscribers: a, publishers: b };
  },
};

async function open(t: Test, broker: TestBroker): Promise<Peer> {
  const peer = await Peer.open(broker.url);
  t.teardown(() => peer.close());
  return peer;
}

function offsetOf(answer: ServerMessage): number {
  if (answer.op !== 'published' || answer.offset === undefined) throw new Error(`not a published answer with a position: ${JSON.stringify(answer)}`);
  return answer.offset;
}

function offsetsOf(peer: Peer, topic: string): number[] {
  return peer.deliveries.filter((delivery: DeliveryMessage) => delivery.topic === topic).map((delivery) => delivery.offset);
}

/** Publishes `topic` in pipelined batches until `stop` says so; resolves with the last offset published. */
async function hammer(peer: Peer, topic: string, stop: () => boolean): Promise<number> {
  let last = 0;
  let n = 0;
  while (!stop()) {
    const batch = Array.from({ length: 20 }, () => peer.publish(topic, { n: n++ }));
    for (const answer of await Promise.all(batch)) last = Math.max(last, offsetOf(answer));
  }
  return last;
}

for (const [engine, start] of Object.entries(engines)) {
  t.test(`${engine}: subscribes racing a hammering publisher get the latest first, then every live one once, in order`, async (t) => {
    const nodes = await start(t);
    const publisher = await open(t, nodes.publishers);
    const topic = 'prices.hot';
    await publisher.publish(topic, { n: -1 });
    // A connection that receives the topic through a wildcard already: its exact subscribe takes nothing away.
    const watcher = await open(t, nodes.subscribers);
    t.equal((await watcher.subscribe('prices.*')).op, 'subscribed');
    let stopped = false;
    const publishing = hammer(publisher, topic, () => stopped);
    await eventually(() => offsetsOf(watcher, topic).length >= 3, 20_000, 'the watcher receiving live ones');
    const overlapping = await watcher.subscribe(topic);
    t.equal(overlapping.op, 'subscribed');
    t.notOk('latest' in overlapping, 'another subscription of the connection matches the topic: no latest');
    const subscribers: { peer: Peer; latest: LatestResult }[] = [];
    for (let index = 0; index < 6; index++) {
      const peer = await open(t, nodes.subscribers);
      const answer = await peer.subscribe(topic);
      if (answer.op !== 'subscribed' || answer.latest === undefined) throw new Error(`expected subscribed with latest, got ${JSON.stringify(answer)}`);
      subscribers.push({ peer, latest: answer.latest });
      // Let some live publications through before the next subscribe.
      await eventually(() => offsetsOf(peer, topic).length >= 3, 20_000, 'live deliveries after the latest');
    }
    stopped = true;
    const last = await publishing;
    await eventually(() => offsetsOf(watcher, topic).at(-1) === last, 20_000, `the watcher reaches offset ${last}`);
    const watched = offsetsOf(watcher, topic);
    const from = watched[0] as number;
    t.same(watched, Array.from({ length: last - from + 1 }, (_, k) => from + k), 'the watcher: contiguous, each once, across its second subscribe');
    for (const [index, { peer, latest }] of subscribers.entries()) {
      t.equal(latest.replayed, true, `subscriber ${index}: the latest publication follows`);
      await eventually(() => offsetsOf(peer, topic).at(-1) === last, 20_000, `subscriber ${index} reaches offset ${last}`);
      const offsets = offsetsOf(peer, topic);
      t.equal(offsets[0], latest.offset, `subscriber ${index}: the first delivery is the latest, at the answer's offset`);
      const expected = Array.from({ length: last - latest.offset + 1 }, (_, k) => latest.offset + k);
      t.same(offsets, expected, `subscriber ${index}: offsets ${latest.offset}..${last}, contiguous, each once`);
      t.equal(peer.deliveries[0]?.epoch, latest.epoch);
    }
  });

  t.test(`${engine}: an empty topic gives only live ones; a namespace without latest, a wildcard, and since are unchanged`, async (t) => {
    const nodes = await start(t);
    const publisher = await open(t, nodes.publishers);
    const peer = await open(t, nodes.subscribers);

    const empty = await peer.subscribe('prices.new');
    t.match(empty, { op: 'subscribed', latest: { offset: 0, replayed: false } }, 'nothing published: nothing follows');
    const first = offsetOf(await publisher.publish('prices.new', 'first'));
    await eventually(() => offsetsOf(peer, 'prices.new').length === 1);
    t.same(offsetsOf(peer, 'prices.new'), [first]);
    t.equal(peer.deliveries[0]?.data, 'first');

    for (let n = 0; n < 3; n++) await publisher.publish('plain.a', n);
    for (let n = 0; n < 3; n++) await publisher.publish('prices.b', n);
    const plain = await peer.subscribe('plain.a');
    t.equal(plain.op, 'subscribed');
    t.notOk('latest' in plain, 'plain.: no latest in the answer');
    const wildcard = await peer.subscribe('prices.*');
    t.equal(wildcard.op, 'subscribed');
    t.notOk('latest' in wildcard, 'a wildcard: no latest replay (protocol.md §8.6)');
    const live = { plain: offsetOf(await publisher.publish('plain.a', 'live')), prices: offsetOf(await publisher.publish('prices.b', 'live')) };
    await eventually(() => offsetsOf(peer, 'plain.a').length > 0 && offsetsOf(peer, 'prices.b').length > 0);
    t.same(offsetsOf(peer, 'plain.a'), [live.plain], 'plain.: only what was published after the subscribe');
    t.same(offsetsOf(peer, 'prices.b'), [live.prices], 'the wildcard: only live');

    const other = await open(t, nodes.subscribers);
    const { epoch } = (await publisher.publish('prices.c', 1)) as { epoch: string };
    const second = offsetOf(await publisher.publish('prices.c', 2));
    const third = offsetOf(await publisher.publish('prices.c', 3));
    const recovered = await other.subscribe('prices.c', { since: { 'prices.c': { offset: second, epoch } } });
    t.match(recovered, { op: 'subscribed', recovery: { 'prices.c': { status: 'recovered', offset: third } } }, 'with since: recovery as ever');
    t.notOk('latest' in recovered);
    await eventually(() => offsetsOf(other, 'prices.c').length === 1);
    t.same(offsetsOf(other, 'prices.c'), [third]);
  });
}
