import { type DeliveryMessage, encodeBinary, splitIntoChunks } from '@switchboard/protocol';
import t, { type Test } from 'tap';
import { Peer } from '../helpers/pubsub-peer.js';
import { createConfig } from '../../src/config/config.js';
import { eventually, startBroker } from '../helpers/start-broker.js';

/**
 * pubsub.v1 over real sockets (protocol.md §5, §6, §7, §8): core's Node client against a listening broker.
 */

async function peers(t: Test, url: string, count: number): Promise<Peer[]> {
  const opened = await Promise.all(Array.from({ length: count }, () => Peer.open(url)));
  for (const peer of opened) t.teardown(() => peer.close());
  return opened;
}

/** Publishes a marker on `topic` and waits for it at `peer`: everything published before it has been routed. */
async function barrier(publisher: Peer, subscriber: Peer, topic: string): Promise<void> {
  const marker = `marker-${publisher.id()}`;
  await publisher.publish(topic, marker);
  await subscriber.waitFor((message) => message.op === 'message' && message.data === marker);
}

function isMarker(delivery: DeliveryMessage): boolean {
  return typeof delivery.data === 'string' && delivery.data.startsWith('marker-');
}

function topicsOf(deliveries: readonly DeliveryMessage[]): string[] {
  return deliveries.map((delivery) => delivery.topic);
}

t.test('welcome: the first message, with the connection id, node and limits', async (t) => {
  const { url } = await startBroker(t, { maxSubscriptions: 7, publishRatePerSecond: 50, publishRateBurst: 60 });
  const [peer] = (await peers(t, url, 1)) as [Peer];
  const first = peer.messages[0];
  t.equal(first?.op, 'welcome');
  t.equal(peer.ws.protocol, 'pubsub.v1');
  t.match(peer.welcome.connectionId, /^c_[A-Za-z0-9_-]+$/);
  t.equal(peer.welcome.node, 'test-node');
  t.same(peer.welcome.limits, {
    maxMessageBytes: 512 * 1024,
    chunkBytes: 65536,
    maxFrameBytes: 65536 + 4 + 4096,
    maxSubscriptions: 7,
    maxConcurrentTransfers: 4,
    maxIncompleteBytes: 1024 * 1024,
    chunkTimeoutMs: 30000,
    idempotencyWindowMs: 120000,
    tokenGraceMs: 10000,
    publishRate: { perSecond: 50, burst: 60 },
  });
  t.notOk('tokenExpiresAt' in peer.welcome, 'anonymous connections have no expiry');
  t.same(peer.welcome.capabilities, ['user_topics', 'server_subscriptions'], 'users (protocol.md §14) are served; presence not yet');
  t.notOk('user' in peer.welcome, 'an anonymous connection has no user');
});

t.test('subscribe, publish with ack, delivery with topic, priority, offset and epoch', async (t) => {
  const { url } = await startBroker(t);
  const [subscriber, publisher] = (await peers(t, url, 2)) as [Peer, Peer];
  t.same(await subscriber.request({ op: 'subscribe', id: 11, pattern: 'orders.eu.*' }), { op: 'subscribed', id: 11, pattern: 'orders.eu.*' });
  const ack = await publisher.request({ op: 'publish', id: 21, topic: 'orders.eu.1', priority: 'normal', data: { item: 'book', qty: 2 } });
  t.match(ack, { op: 'published', id: 21, offset: 1, epoch: String });
  const delivery = await subscriber.waitFor((message) => message.op === 'message');
  t.same(delivery, { op: 'message', topic: 'orders.eu.1', priority: 'normal', offset: 1, epoch: (ack as { epoch: string }).epoch, data: { item: 'book', qty: 2 } });
  t.notOk(
    subscriber.log.some((entry) => entry.kind === 'message' && entry.message.op === 'message' && entry.binary),
    'JSON travels in a text frame',
  );
  const second = await publisher.request({ op: 'publish', id: 22, topic: 'orders.eu.1', priority: 'normal', data: 'again' });
  t.match(second, { op: 'published', id: 22, offset: 2 }, 'offsets count per topic');
  const other = await publisher.request({ op: 'publish', id: 23, topic: 'orders.eu.2', priority: 'normal', data: 'x' });
  t.match(other, { op: 'published', id: 23, offset: 1 }, 'each topic has its own offsets');
});

t.test('wildcards: * matches one segment, > one or more trailing ones (protocol.md §4 table)', async (t) => {
  const { url } = await startBroker(t);
  const patterns = ['orders.eu', 'orders.*', 'orders.>', '*.eu.>', '>'];
  const subscribers = await peers(t, url, patterns.length);
  const [publisher] = (await peers(t, url, 1)) as [Peer];
  for (const [index, pattern] of patterns.entries()) {
    await subscribers[index]?.subscribe(pattern);
    if (pattern !== '>') await subscribers[index]?.subscribe('zz.barrier.x');
  }
  const topics = ['orders.eu', 'orders.us', 'orders', 'orders.eu.1', 'users.eu.a.b', 'orders.us.1', 'Orders.eu'];
  for (const topic of topics) await publisher.publish(topic, topic);
  for (const subscriber of subscribers) await barrier(publisher, subscriber, 'zz.barrier.x');
  const received = subscribers.map((subscriber) => topicsOf(subscriber.deliveries).filter((topic) => topic !== 'zz.barrier.x'));
  t.same(received[0], ['orders.eu'], 'orders.eu matches only itself');
  t.same(received[1], ['orders.eu', 'orders.us'], 'orders.* matches one segment');
  t.same(received[2], ['orders.eu', 'orders.us', 'orders.eu.1', 'orders.us.1'], 'orders.> matches one or more');
  t.same(received[3], ['orders.eu.1', 'users.eu.a.b'], '*.eu.> needs a segment after eu');
  t.same(received[4], topics, '> matches every topic');
});

t.test('a connection gets a message once however many of its subscriptions match, and its own publishes', async (t) => {
  const { url } = await startBroker(t);
  const [peer] = (await peers(t, url, 1)) as [Peer];
  for (const pattern of ['a.b', 'a.*', 'a.>', '>']) await peer.subscribe(pattern);
  await peer.publish('a.b', 1);
  await peer.publish('a.c', 2);
  await peer.waitForDeliveries(2);
  await barrier(peer, peer, 'z');
  t.same(
    peer.deliveries.filter((delivery) => !isMarker(delivery)).map((delivery) => [delivery.topic, delivery.data]),
    [
      ['a.b', 1],
      ['a.c', 2],
    ],
  );
});

t.test('binary payloads travel as raw bytes in binary frames, JSON values of every kind in text frames', async (t) => {
  const { url } = await startBroker(t);
  const [subscriber, publisher] = (await peers(t, url, 2)) as [Peer, Peer];
  await subscriber.subscribe('data.>');
  const bytes = new Uint8Array(256).map((_, index) => index);
  await publisher.publish('data.bin', bytes, { priority: 'low' });
  const values = [null, true, 0, -1.5, 'text', 'ünïcødé ☃ 😀', [1, [2, { x: null }]], { nested: { a: [1, 2, 3] } }];
  for (const value of values) await publisher.publish('data.json', value);
  await subscriber.waitForDeliveries(1 + values.length);
  const [binary, ...json] = subscriber.deliveries;
  t.ok(binary?.data instanceof Uint8Array);
  t.same(Buffer.from(binary?.data as Uint8Array), Buffer.from(bytes), 'same bytes');
  t.equal(binary?.priority, 'low');
  const frames = subscriber.log.flatMap((entry) => (entry.kind === 'message' && entry.message.op === 'message' ? [entry.binary] : []));
  t.same(frames, [true, ...values.map(() => false)], 'bytes in a binary frame, JSON in text frames');
  t.same(
    json.map((delivery) => delivery.data),
    values,
  );
});

t.test('a binary delivery is 4 + header + payload bytes: no base64 inflation', async (t) => {
  const { url } = await startBroker(t);
  const [subscriber, publisher] = (await peers(t, url, 2)) as [Peer, Peer];
  await subscriber.subscribe('cam.1');
  const sizes: number[] = [];
  subscriber.ws.on('message', (data, isBinary) => {
    if (isBinary) sizes.push((data as Buffer).length);
  });
  await publisher.publish('cam.1', new Uint8Array(40_000).fill(7));
  const [delivery] = await subscriber.waitForDeliveries(1);
  const header = JSON.stringify({ op: 'message', topic: 'cam.1', priority: 'normal', offset: delivery?.offset, epoch: delivery?.epoch });
  t.same(sizes, [4 + Buffer.byteLength(header) + 40_000]);
});

t.test('a publish without id is fire-and-forget: delivered, never acked', async (t) => {
  const { url } = await startBroker(t);
  const [subscriber, publisher] = (await peers(t, url, 2)) as [Peer, Peer];
  await subscriber.subscribe('news');
  publisher.send({ op: 'publish', topic: 'news', priority: 'high', data: 'flash' });
  const delivery = await subscriber.waitFor((message) => message.op === 'message');
  t.match(delivery, { topic: 'news', priority: 'high', data: 'flash' });
  await barrier(publisher, subscriber, 'news');
  t.same(
    publisher.messages.filter((message) => message.op === 'published').length,
    1,
    'only the barrier publish (with id) was acked',
  );
});

t.test('same-priority messages of a topic arrive in offset order', async (t) => {
  const { url } = await startBroker(t);
  const [subscriber, publisher] = (await peers(t, url, 2)) as [Peer, Peer];
  await subscriber.subscribe('seq');
  for (let index = 0; index < 300; index++) publisher.send({ op: 'publish', topic: 'seq', priority: 'normal', data: index });
  const deliveries = await subscriber.waitForDeliveries(300);
  t.same(
    deliveries.map((delivery) => delivery.data),
    Array.from({ length: 300 }, (_, index) => index),
  );
  t.same(
    deliveries.map((delivery) => delivery.offset),
    Array.from({ length: 300 }, (_, index) => index + 1),
  );
});

t.test('priorities: a backed-up subscriber gets queued messages high first, then normal, then low', async (t) => {
  const { url, broker } = await startBroker(t, { maxQueuedBytes: 32 * 1024 * 1024, maxMessageBytes: 1024 * 1024 });
  const [subscriber, publisher] = (await peers(t, url, 2)) as [Peer, Peer];
  await subscriber.subscribe('p.>');
  const session = broker.session(subscriber.welcome.connectionId);
  t.ok(session);
  subscriber.pause();
  // Fill the kernel's buffers and the socket's high-water mark until the broker has to queue.
  const filler = new Uint8Array(32 * 1024);
  let fillers = 0;
  while ((session?.queue.depth ?? 0) === 0 && fillers < 2000) {
    await publisher.publish('p.filler', filler, { priority: 'low' });
    fillers++;
  }
  t.ok((session?.queue.depth ?? 0) > 0, `the broker queues after ${fillers} fillers`);
  await publisher.publish('p.mark', 'low', { priority: 'low' });
  await publisher.publish('p.mark', 'normal', { priority: 'normal' });
  await publisher.publish('p.mark', 'high', { priority: 'high' });
  subscriber.resume();
  await subscriber.waitForDeliveries(fillers + 3, 20_000);
  const marks = subscriber.deliveries.filter((delivery) => delivery.topic === 'p.mark').map((delivery) => delivery.data);
  t.same(marks, ['high', 'normal', 'low'], 'published low, normal, high; delivered by priority');
  const highIndex = subscriber.deliveries.findIndex((delivery) => delivery.data === 'high');
  const lastFiller = subscriber.deliveries.findLastIndex((delivery) => delivery.topic === 'p.filler');
  t.ok(highIndex < lastFiller, 'the high message overtook queued low-priority fillers');
});

t.test('unsubscribe: acked, and nothing more arrives for the pattern', async (t) => {
  const { url } = await startBroker(t);
  const [subscriber, publisher] = (await peers(t, url, 2)) as [Peer, Peer];
  await subscriber.subscribe('u.a');
  await subscriber.subscribe('u.b');
  await publisher.publish('u.a', 1);
  await subscriber.waitForDeliveries(1);
  t.same(await subscriber.request({ op: 'unsubscribe', id: 99, pattern: 'u.a' }), { op: 'unsubscribed', id: 99, pattern: 'u.a' });
  await publisher.publish('u.a', 2);
  await barrier(publisher, subscriber, 'u.b');
  t.same(
    subscriber.deliveries.filter((delivery) => !isMarker(delivery)).map((delivery) => delivery.data),
    [1],
  );
});

t.test('ping answers pong with the same id', async (t) => {
  const { url } = await startBroker(t);
  const [peer] = (await peers(t, url, 1)) as [Peer];
  t.same(await peer.request({ op: 'ping', id: 77 }), { op: 'pong', id: 77 });
});

t.test('idempotent publish: a retried key is acked as a duplicate and delivered once', async (t) => {
  const { url } = await startBroker(t);
  const [subscriber, publisher] = (await peers(t, url, 2)) as [Peer, Peer];
  await subscriber.subscribe('pay');
  const first = await publisher.publish('pay', { amount: 5 }, { key: 'invoice-42' });
  const retry = await publisher.publish('pay', { amount: 5 }, { key: 'invoice-42' });
  t.match(first, { op: 'published', offset: 1 });
  t.notOk('duplicate' in first);
  t.match(retry, { op: 'published', offset: 1, epoch: (first as { epoch: string }).epoch, duplicate: true });
  await barrier(publisher, subscriber, 'pay');
  t.equal(subscriber.deliveries.filter((delivery) => !isMarker(delivery)).length, 1);
});

t.test('chunked publish in, chunked delivery out: large JSON and binary payloads reassemble exactly', async (t) => {
  const { url } = await startBroker(t, { maxMessageBytes: 2 * 1024 * 1024, maxQueuedBytes: 8 * 1024 * 1024 });
  const [subscriber, publisher] = (await peers(t, url, 2)) as [Peer, Peer];
  await subscriber.subscribe('big.*');
  const bytes = new Uint8Array(1_000_000).map((_, index) => (index * 31) & 0xff);
  const json = { rows: Array.from({ length: 20_000 }, (_, index) => ({ index, label: `row ${index}` })) };
  t.match(await publisher.publish('big.bin', bytes), { op: 'published' });
  t.match(await publisher.publish('big.json', json), { op: 'published' });
  const [binary, structured] = await subscriber.waitForDeliveries(2);
  t.same(Buffer.from(binary?.data as Uint8Array), Buffer.from(bytes));
  t.same(structured?.data, json);
  const chunks = subscriber.messages.filter((message) => message.op === 'chunk');
  t.equal(chunks.filter((chunk) => chunk.op === 'chunk' && chunk.encoding === 'binary').length, 1, 'one first chunk per transfer');
  t.ok(chunks.length > 16, `delivered as ${chunks.length} chunks of at most chunkBytes`);
  t.ok(
    chunks.every((chunk) => chunk.op === 'chunk' && chunk.data.length <= subscriber.welcome.limits.chunkBytes),
    'no chunk over chunkBytes',
  );
});

t.test('cancel: an abandoned chunked publish is never published', async (t) => {
  const { url } = await startBroker(t);
  const [subscriber, publisher] = (await peers(t, url, 2)) as [Peer, Peer];
  await subscriber.subscribe('up');
  const header = { op: 'publish' as const, id: 500, topic: 'up', priority: 'normal' as const };
  const payload = new Uint8Array(200_000);
  const transfer = publisher.id() + 1000;
  const chunks = splitIntoChunks(header, payload, 65536, { transfer, encoding: 'binary' });
  for (const { data, ...chunk } of chunks.slice(0, 2)) publisher.sendRaw(encodeBinary(chunk, data));
  publisher.send({ op: 'cancel', transfer });
  for (const { data, ...chunk } of chunks.slice(2)) publisher.sendRaw(encodeBinary(chunk, data));
  await barrier(publisher, subscriber, 'up');
  t.same(
    subscriber.deliveries.filter((delivery) => !isMarker(delivery)),
    [],
    'nothing of the cancelled transfer arrived',
  );
  t.notOk(publisher.messages.some((message) => 'id' in message && message.id === 500), 'no ack or error: chunks after cancel are dropped silently');
});

t.test('recovery: subscribe with since replays what was missed, in order, before live messages', async (t) => {
  const { url } = await startBroker(t);
  const [publisher, subscriber] = (await peers(t, url, 2)) as [Peer, Peer];
  const first = (await publisher.publish('chat.room1', 'm1')) as { offset: number; epoch: string };
  for (const text of ['m2', 'm3', 'm4']) await publisher.publish('chat.room1', text);
  const ack = await subscriber.subscribe('chat.*', { since: { 'chat.room1': { offset: first.offset, epoch: first.epoch } } });
  t.same(ack, {
    op: 'subscribed',
    id: 1,
    pattern: 'chat.*',
    recovery: { 'chat.room1': { status: 'recovered', epoch: first.epoch, offset: 4 } },
  });
  await publisher.publish('chat.room1', 'm5');
  const deliveries = await subscriber.waitForDeliveries(4);
  t.same(
    deliveries.map((delivery) => [delivery.offset, delivery.data]),
    [
      [2, 'm2'],
      [3, 'm3'],
      [4, 'm4'],
      [5, 'm5'],
    ],
  );
});

t.test('recovery fails honestly: another epoch, or history that no longer reaches back', async (t) => {
  const { url } = await startBroker(t, { historySize: 2 });
  const [publisher, subscriber] = (await peers(t, url, 2)) as [Peer, Peer];
  const first = (await publisher.publish('feed.a', 1)) as { offset: number; epoch: string };
  for (let index = 2; index <= 5; index++) await publisher.publish('feed.a', index);
  const ack = await subscriber.subscribe('feed.>', {
    since: { 'feed.a': { offset: first.offset, epoch: first.epoch }, 'feed.b': { offset: 3, epoch: 'not-an-epoch' } },
  });
  t.match(ack, {
    op: 'subscribed',
    recovery: {
      'feed.a': { status: 'failed', reason: 'expired', epoch: first.epoch, offset: 5 },
      'feed.b': { status: 'failed', reason: 'epoch_mismatch', offset: 0 },
    },
  });
  await publisher.publish('feed.a', 6);
  const [live] = await subscriber.waitForDeliveries(1);
  t.match(live, { topic: 'feed.a', offset: 6 }, 'after a failed recovery, live messages follow the reported position');
  await eventually(() => subscriber.deliveries.length === 1);
});

t.test('recovery replays at most MAX_RECOVERY_BYTES per subscribe (half the send queue): beyond it a topic fails, nothing is dropped', async (t) => {
  // Defaults: a 1 MiB send queue, so 512 KiB of replay per subscribe.
  const { broker, url } = await startBroker(t, { historySize: 1000 });
  t.equal(broker.config.maxRecoveryBytes, 512 * 1024);
  const [publisher, subscriber] = (await peers(t, url, 2)) as [Peer, Peer];
  const filler = 'x'.repeat(4000);
  const publishMany = async (topic: string, count: number): Promise<{ offset: number; epoch: string }> => {
    const acks = await Promise.all(Array.from({ length: count }, (_, n) => publisher.publish(topic, { n, filler })));
    return acks[0] as unknown as { offset: number; epoch: string };
  };
  // 100 x 4 KB fits; another 100 x 4 KB no longer does; 300 x 4 KB (more than the whole queue) never would.
  const first = await publishMany('replay.a', 100);
  const second = await publishMany('replay.b', 100);
  const third = await publishMany('replay.c', 300);
  const since = Object.fromEntries(
    [['replay.a', first], ['replay.b', second], ['replay.c', third]].map(([topic, ack]) => {
      const { offset, epoch } = ack as { offset: number; epoch: string };
      return [topic as string, { offset: offset - 1, epoch }];
    }),
  );
  t.match(await subscriber.subscribe('replay.*', { since }), {
    op: 'subscribed',
    recovery: {
      'replay.a': { status: 'recovered', offset: 100 },
      'replay.b': { status: 'failed', reason: 'expired', offset: 100 },
      'replay.c': { status: 'failed', reason: 'expired', offset: 300 },
    },
  });
  await publisher.publish('replay.b', 'live');
  await subscriber.waitFor((message) => message.op === 'message' && message.data === 'live');
  const ofA = subscriber.deliveries.filter((delivery) => delivery.topic === 'replay.a');
  t.same(ofA.map((delivery) => delivery.offset), Array.from({ length: 100 }, (_, n) => n + 1), 'replay.a: all 100, in order');
  t.same(subscriber.deliveries.filter((delivery) => delivery.topic !== 'replay.a').map((delivery) => delivery.data), ['live'], 'failed topics: live only');
  t.notOk(subscriber.messages.some((message) => message.op === 'gap'), 'no gap: nothing reported recovered was dropped');
});

t.test('config: MAX_RECOVERY_BYTES must fit the send queue', async (t) => {
  t.throws(() => createConfig({ maxQueuedBytes: 1024 * 1024, maxRecoveryBytes: 2 * 1024 * 1024 }), /MAX_RECOVERY_BYTES.*at most MAX_QUEUED_BYTES/);
  t.equal(createConfig({ maxQueuedBytes: 4 * 1024 * 1024 }).maxRecoveryBytes, 2 * 1024 * 1024, 'half the queue by default');
});

t.test('without history, publish acks carry no position and recovery reports no_history', async (t) => {
  const { url } = await startBroker(t, { historySize: 0 });
  const [publisher, subscriber] = (await peers(t, url, 2)) as [Peer, Peer];
  const ack = await publisher.publish('nohist', 1);
  t.same(ack, { op: 'published', id: 1 });
  await publisher.publish('nohist', 2);
  const subscribed = await subscriber.subscribe('nohist', { since: { nohist: { offset: 1, epoch: 'x' } } });
  t.match(subscribed, { recovery: { nohist: { status: 'failed' } } });
});
