// The SDK against a real broker process (the `switchboard` CLI): typed subscribe and publish, acks and
// errors, binary payloads, idempotency, and the browser transport (over the `ws` package) beside the Node one.
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import {
  type Client,
  type ClientOptions,
  type Message,
  type TopicMap,
  type WebSocketConstructor,
  createClient,
  createWebSocketTransport,
} from '../../src/index.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { TEST_JWT_SECRET, signTestJwt } from '../helpers/jwt.js';
import { Inbox, delay, until } from '../helpers/wait.js';

interface Topics {
  'chat.*': { user: string; text: string };
  'cam.>': Uint8Array;
  'counter.*': number;
  'secret.*': string;
}

let broker: BrokerProcess;
let secured: BrokerProcess;

t.before(async () => {
  [broker, secured] = await Promise.all([
    startBroker(['--publish-rate', '1000', '--publish-burst', '1000']),
    startBroker(['--jwt-secret', TEST_JWT_SECRET, '--publish-rate', '2', '--publish-burst', '2', '--rate-limit-close-after', '0']),
  ]);
});
t.teardown(async () => {
  await Promise.all([broker?.stop(), secured?.stop()]);
});

function connect<Topics extends TopicMap>(t: Test, options: Partial<ClientOptions<Topics>> = {}): Client<Topics> {
  const client = createClient<Topics>({ url: broker.url, ...options } as ClientOptions<Topics>);
  t.teardown(() => client.close());
  return client;
}

t.test('typed publish and subscribe round trip, acked with the position', async (t) => {
  const subscriber = connect<Topics>(t);
  const publisher = connect<Topics>(t);
  const messages = new Inbox<Message<{ user: string; text: string }>>();
  const subscription = subscriber.subscribe('chat.*', messages.push);
  t.same(await subscription, { pattern: 'chat.*' });
  const ack = await publisher.publish('chat.lobby', { user: 'ann', text: 'hi' });
  t.match(ack, { topic: 'chat.lobby', offset: 1, epoch: String, duplicate: false });
  const [message] = await messages.atLeast(1);
  t.same(message, { topic: 'chat.lobby', data: { user: 'ann', text: 'hi' }, priority: 'normal', offset: 1, epoch: ack.epoch });
  t.same(subscriber.position('chat.lobby'), { offset: 1, epoch: ack.epoch });
});

t.test('a publisher that is subscribed receives its own messages; ordering per topic and priority holds', async (t) => {
  const client = connect<Topics>(t);
  const messages = new Inbox<Message<number>>();
  await client.subscribe('counter.*', messages.push);
  const acks = await Promise.all(Array.from({ length: 50 }, (_, index) => client.publish('counter.a', index)));
  t.same(acks.map((ack) => ack.offset), Array.from({ length: 50 }, (_, index) => index + 1));
  await messages.atLeast(50);
  t.same(messages.items.map((message) => message.data), Array.from({ length: 50 }, (_, index) => index));
});

t.test('binary payloads are first-class: Uint8Array, Buffer and ArrayBuffer in, bytes out', async (t) => {
  const subscriber = connect<Topics>(t);
  const publisher = connect<Topics>(t);
  const frames = new Inbox<Message<Uint8Array>>();
  await subscriber.subscribe('cam.>', frames.push);
  const bytes = Uint8Array.from({ length: 1000 }, (_, index) => (index * 7) & 0xff);
  await publisher.publish('cam.1', bytes);
  await publisher.publish('cam.1.hd', Buffer.from('raw bytes, not base64'));
  await publisher.publish('cam.2', new Uint8Array([0, 255, 1]).buffer);
  await publisher.publish('cam.empty', new Uint8Array(0));
  await frames.atLeast(4);
  t.same(frames.items.map((frame) => frame.topic), ['cam.1', 'cam.1.hd', 'cam.2', 'cam.empty']);
  t.ok(frames.items.every((frame) => frame.data instanceof Uint8Array));
  t.same(frames.items[0]!.data, bytes);
  t.equal(Buffer.from(frames.items[1]!.data).toString(), 'raw bytes, not base64');
  t.same(frames.items[2]!.data, new Uint8Array([0, 255, 1]));
  t.equal(frames.items[3]!.data.length, 0);
});

t.test('priorities travel with the message', async (t) => {
  const client = connect<Topics>(t);
  const messages = new Inbox<Message<number>>();
  await client.subscribe('counter.*', messages.push);
  await client.publish('counter.p', 1, { priority: 'high' });
  await client.publish('counter.p', 2, { priority: 'low' });
  await messages.atLeast(2);
  t.same(messages.items.map((message) => message.priority), ['high', 'low']);
});

t.test('fire-and-forget publishes settle when written and still arrive', async (t) => {
  const client = connect<Topics>(t);
  const messages = new Inbox<Message<number>>();
  await client.subscribe('counter.*', messages.push);
  t.equal(await client.publish('counter.f', 7, { ack: false }), undefined);
  t.same((await messages.atLeast(1))[0]!.data, 7);
});

t.test('idempotent publish: the same key is published once (protocol.md §8.4)', async (t) => {
  const client = connect<Topics>(t);
  const messages = new Inbox<Message<number>>();
  await client.subscribe('counter.*', messages.push);
  const first = await client.publish('counter.k', 1, { key: 'once-only' });
  const second = await client.publish('counter.k', 1, { key: 'once-only' });
  t.same(second, { ...first, duplicate: true });
  await client.publish('counter.k', 2);
  await messages.atLeast(2);
  await delay(50);
  t.same(messages.items.map((message) => message.data), [1, 2], 'delivered once');
});

t.test('unsubscribe stops deliveries; the broker confirms', async (t) => {
  const client = connect<Topics>(t);
  const messages = new Inbox<Message<number>>();
  const subscription = client.subscribe('counter.*', messages.push);
  await subscription;
  await client.publish('counter.u', 1);
  await messages.atLeast(1);
  subscription.unsubscribe();
  await client.publish('counter.u', 2);
  await delay(100);
  t.equal(messages.items.length, 1);
});

t.test('errors carry the broker codes: message_too_big, invalid_topic, forbidden, rate_limited', async (t) => {
  const client = connect<Topics>(t);
  await client.whenConnected();
  const limit = client.limits!.maxMessageBytes;
  await t.rejects(client.publish('cam.big', new Uint8Array(limit + 1)), { code: 'message_too_big' });
  await t.rejects(client.publish('chat.a b' as 'chat.x', { user: 'a', text: 'b' }), { code: 'invalid_topic' });

  const token = signTestJwt({ sub: 'ann', publish: ['chat.>'], subscribe: ['chat.>'] });
  const limited = createClient<Topics>({ url: secured.url, token, publishRetries: 0 });
  t.teardown(() => limited.close());
  await t.rejects(limited.publish('secret.x', 'no'), { code: 'forbidden', topic: 'secret.x' });
  const refused = limited.subscribe('secret.*', () => {});
  await t.rejects(refused.ready, { code: 'forbidden' });
  t.equal(refused.state, 'ended');
  const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, index) => limited.publish('chat.x', { user: 'ann', text: String(index) })));
  const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
  t.ok(rejected.length >= 3, `${rejected.length} of 6 over a 2/s rate were refused`);
  t.match((rejected[0] as PromiseRejectedResult).reason, { code: 'rate_limited', retryAfterMs: Number });
});

t.test('rate_limited publishes are retried after retryAfterMs', async (t) => {
  const token = signTestJwt({ sub: 'bob', publish: ['chat.>'], subscribe: ['chat.>'] });
  const client = createClient<Topics>({ url: secured.url, token, publishRetries: 5 });
  t.teardown(() => client.close());
  const acks = await Promise.all(Array.from({ length: 4 }, (_, index) => client.publish('chat.retry', { user: 'bob', text: String(index) })));
  t.equal(acks.length, 4, 'four publishes at 2/s all succeed, some after waiting');
});

t.test('the browser transport (bearer.<token> subprotocol) works against the real broker', async (t) => {
  const token = signTestJwt({ sub: 'web', publish: ['chat.>'], subscribe: ['chat.>'] });
  const transport = createWebSocketTransport(WebSocket as unknown as WebSocketConstructor);
  const browserLike = createClient<Topics>({ url: secured.url, token, transport });
  t.teardown(() => browserLike.close());
  const messages = new Inbox<Message<{ user: string; text: string }>>();
  await browserLike.subscribe('chat.*', messages.push);
  await browserLike.publish('chat.web', { user: 'web', text: 'from a browser-style socket' });
  t.match(await messages.atLeast(1), [{ topic: 'chat.web', data: { text: 'from a browser-style socket' } }]);

  const large = new Uint8Array(300_000).fill(3);
  const binary = createClient<{ 'chat.>': Uint8Array }>({ url: secured.url, token, transport });
  t.teardown(() => binary.close());
  const received = new Inbox<Message<Uint8Array>>();
  await binary.subscribe('chat.>', received.push);
  await binary.publish('chat.bytes', large);
  await until(() => received.items.some((message) => message.topic === 'chat.bytes'), 'the chunked message');
  const bytes = received.items.find((message) => message.topic === 'chat.bytes')!.data;
  t.ok(Buffer.from(bytes).equals(Buffer.from(large)), 'chunked both ways through the browser transport');
});

t.test('a bad token: 401 with a fixed token closes the client for good', async (t) => {
  const client = createClient<Topics>({ url: secured.url, token: signTestJwt({ sub: 'x' }, 'a-different-secret-that-is-long-enough') });
  t.teardown(() => client.close());
  await t.rejects(client.whenConnected(), { code: 'invalid_token' });
  t.equal(client.state, 'closed');
});
