// Chunked messages against a real broker: large publishes and deliveries both ways, the broker's transfer
// limits, and a small urgent message overtaking a large one in each direction (protocol.md §6, §7).
//
// On loopback the kernel's socket buffers take megabytes at once, so no writer ever sees backpressure and
// priorities have nothing to reorder. The overtaking tests therefore put a slow link (a throttling TCP
// proxy) on the side under test, like a phone uploading a video; the other client connects directly.
import t, { type Test } from 'tap';
import { type Client, type Message, createClient } from '../../src/index.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';
import { Inbox, delay, until } from '../helpers/wait.js';

interface Topics {
  'files.>': Uint8Array;
  'docs.*': { title: string; body: string };
  'alerts.*': string;
}

const MiB = 1024 * 1024;
const CHUNK = 16 * 1024;
let broker: BrokerProcess;
let slowLink: TcpProxy;

t.before(async () => {
  broker = await startBroker([
    '--chunk-bytes', '16KiB',
    '--max-message-bytes', '8MiB',
    '--max-queued-bytes', '32MiB',
    '--max-concurrent-transfers', '1',
    '--publish-rate', '0',
  ]);
  slowLink = await startTcpProxy(broker.port, { bytesPerSecond: 4 * MiB });
});
t.teardown(async () => {
  await slowLink?.close();
  await broker?.stop();
});

function connect(t: Test, url = broker.url): Client<Topics> {
  const client = createClient<Topics>({ url });
  t.teardown(() => client.close());
  return client;
}

/** Byte comparison without tap's element-by-element diffing, which takes seconds on megabytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function patterned(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + seed) & 0xff;
  return bytes;
}

t.test('large binary and JSON publishes are chunked up and delivered chunked, byte for byte', async (t) => {
  const publisher = connect(t);
  const subscriber = connect(t);
  const files = new Inbox<Message<Uint8Array>>();
  const docs = new Inbox<Message<{ title: string; body: string }>>();
  await subscriber.subscribe('files.>', files.push);
  await subscriber.subscribe('docs.*', docs.push);
  await publisher.whenConnected();
  t.equal(publisher.limits?.chunkBytes, CHUNK);

  const video = patterned(5 * MiB + 123, 1);
  const ack = await publisher.publish('files.video', video);
  t.match(ack, { topic: 'files.video', offset: 1 });
  const [delivered] = await files.atLeast(1, 'the video', 30_000);
  t.equal(delivered!.data.length, video.length);
  t.ok(sameBytes(delivered!.data, video), 'identical bytes');

  const body = 'Größe — ünïcødé '.repeat(100_000);
  await publisher.publish('docs.report', { title: 'report', body });
  const [doc] = await docs.atLeast(1, 'the report', 30_000);
  t.equal(doc!.data.body, body, 'a JSON payload of 1.7 MB (UTF-8) arrives intact');

  const exact = patterned(CHUNK, 2);
  const justOver = patterned(CHUNK + 1, 3);
  await publisher.publish('files.exact', exact);
  await publisher.publish('files.over', justOver);
  await files.atLeast(3);
  t.ok(sameBytes(files.items[1]!.data, exact), 'exactly chunkBytes: one message');
  t.ok(sameBytes(files.items[2]!.data, justOver), 'one byte more: two chunks');
});

t.test('uploads at every priority at once stay within the broker transfer limit (maxConcurrentTransfers 1)', async (t) => {
  const publisher = connect(t);
  const subscriber = connect(t);
  const files = new Inbox<Message<Uint8Array>>();
  await subscriber.subscribe('files.>', files.push);
  const uploads = (['low', 'normal', 'high', 'low', 'high'] as const).map((priority, index) =>
    publisher.publish(`files.parallel${index}`, patterned(300_000 + index, index), { priority }),
  );
  const acks = await Promise.all(uploads);
  t.equal(acks.length, 5, 'no too_many_transfers: a transfer starts only when the previous one ended');
  await files.atLeast(5, 'five files', 30_000);
  for (const [index] of acks.entries()) {
    const file = files.items.find((message) => message.topic === `files.parallel${index}`);
    t.ok(file !== undefined && sameBytes(file.data, patterned(300_000 + index, index)), `file ${index} intact`);
  }
});

t.test('client to broker: an urgent publish overtakes a large upload on a slow link', async (t) => {
  const uploader = connect(t, slowLink.url);
  const watcher = connect(t);
  const arrivals = new Inbox<string>();
  await watcher.subscribe('files.>', (message) => arrivals.push(message.topic));
  await watcher.subscribe('alerts.*', (message) => arrivals.push(message.topic));
  await uploader.whenConnected();

  const upload = uploader.publish('files.upload', patterned(8 * MiB, 4), { priority: 'low' });
  await until(() => uploader.queued.messages === 1 && uploader.queued.bytes === 8 * MiB, 'the upload to be under way');
  await delay(100);
  const urgent = uploader.publish('alerts.fire', 'evacuate', { priority: 'high' });
  const behind = uploader.publish('alerts.later', 'same priority as the upload', { priority: 'low' });
  await Promise.all([upload, urgent, behind]);
  await arrivals.atLeast(3, 'all three messages', 30_000);
  t.same(arrivals.items, ['alerts.fire', 'files.upload', 'alerts.later'], 'high overtook the upload between its chunks; low waited its turn');
});

t.test('broker to client: an urgent message overtakes a large delivery to a slow subscriber', async (t) => {
  const publisher = connect(t);
  const slowSubscriber = connect(t, slowLink.url);
  const arrivals = new Inbox<string>();
  await slowSubscriber.subscribe('files.>', (message) => arrivals.push(message.topic));
  await slowSubscriber.subscribe('alerts.*', (message) => arrivals.push(message.topic));
  await publisher.publish('files.download', patterned(8 * MiB, 5), { priority: 'low' });
  await delay(100);
  await publisher.publish('alerts.fire', 'evacuate', { priority: 'high' });
  await publisher.publish('alerts.later', 'same priority as the download', { priority: 'low' });
  await arrivals.atLeast(3, 'all three messages', 30_000);
  t.same(arrivals.items, ['alerts.fire', 'files.download', 'alerts.later']);
});
