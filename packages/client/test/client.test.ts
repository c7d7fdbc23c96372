// The client against a scripted broker: every message on the wire is checked, and the broker does on cue
// what a real one does only under rare conditions (gaps, cancelled deliveries, close codes, silence).
// The same behaviours against the real broker are in e2e/.
import t, { type Test } from 'tap';
import { type DeliveryHeader, encodeBinary, splitIntoChunks } from '@switchboard/protocol';
import {
  type Client,
  type ClientOptions,
  type Gap,
  type Message,
  type RecoveryFailure,
  type StateChange,
  SwitchboardError,
  createClient,
} from '../src/index.js';
import { type ScriptedBroker, type ScriptedConnection, scriptedLimits, startScriptedBroker } from './helpers/scripted-broker.js';
import { FakeClock } from './helpers/fake-clock.js';
import { Inbox, delay, until, within } from './helpers/wait.js';
import * as z from 'zod/mini';

async function setup(
  t: Test,
  options: Partial<ClientOptions> = {},
): Promise<{ broker: ScriptedBroker; client: Client; states: StateChange[]; errors: SwitchboardError[] }> {
  const broker = await startScriptedBroker();
  const states: StateChange[] = [];
  const errors: SwitchboardError[] = [];
  // random 0: reconnects happen at once, so tests never wait out a backoff.
  const client = createClient({ url: broker.url, random: () => 0, ...options } as ClientOptions);
  client.on('state', (change) => states.push(change));
  client.on('error', (error) => errors.push(error));
  t.teardown(async () => {
    await client.close();
    await broker.close();
  });
  return { broker, client, states, errors };
}

async function welcomed(broker: ScriptedBroker, index = 0, overrides: Parameters<ScriptedConnection['welcome']>[0] = {}): Promise<ScriptedConnection> {
  const connection = await broker.connection(index);
  connection.welcome(overrides);
  return connection;
}

t.test('connecting: offers pubsub.v1 with the token as a bearer header; connected on welcome', async (t) => {
  const { broker, client, states } = await setup(t, { token: 'tok-1', headers: { Origin: 'https://app.example' } });
  t.equal(client.state, 'connecting');
  const connection = await broker.connection(0);
  t.equal(connection.headers['sec-websocket-protocol'], 'pubsub.v1');
  t.equal(connection.headers.authorization, 'Bearer tok-1');
  t.equal(connection.headers.origin, 'https://app.example');
  t.equal(client.state, 'connecting', 'the upgrade alone is not enough: welcome carries the limits');
  const connected = new Promise((resolve) => client.on('connected', resolve));
  connection.welcome({ node: 'broker-1', tokenExpiresAt: 1767225600000 });
  t.match(await connected, { connectionId: 'c_1', node: 'broker-1', limits: scriptedLimits, tokenExpiresAt: 1767225600000 });
  t.equal(client.state, 'connected');
  t.equal(client.connectionId, 'c_1');
  t.same(client.limits, scriptedLimits);
  t.same(states.map((change) => change.state), ['connected']);
});

t.test('subscribe: sent after welcome, awaited for the ack, deliveries routed to every matching handler', async (t) => {
  const { broker, client } = await setup(t);
  const eu = new Inbox<Message<unknown>>();
  const all = new Inbox<Message<unknown>>();
  const subscription = client.subscribe('orders.eu.*', eu.push);
  client.subscribe('orders.>', all.push);
  t.equal(subscription.state, 'pending');
  const connection = await welcomed(broker);
  const first = await connection.next('subscribe');
  const second = await connection.next('subscribe');
  t.same([first, second], [
    { op: 'subscribe', id: 1, pattern: 'orders.eu.*' },
    { op: 'subscribe', id: 2, pattern: 'orders.>' },
  ]);
  connection.send({ op: 'subscribed', id: 1, pattern: 'orders.eu.*' });
  t.same(await subscription, { pattern: 'orders.eu.*' });
  t.equal(subscription.state, 'active');
  connection.send({ op: 'subscribed', id: 2, pattern: 'orders.>' });
  connection.send({ op: 'message', topic: 'orders.eu.1', priority: 'normal', offset: 42, epoch: 'e7f3', data: { item: 'book', qty: 2 } });
  connection.send({ op: 'message', topic: 'orders.us.1', priority: 'high', offset: 7, epoch: 'e7f3', data: 'x' });
  connection.send({ op: 'message', topic: 'other', priority: 'low', offset: 1, epoch: 'e7f3', data: 'dropped' });
  await all.atLeast(2);
  t.same(eu.items, [{ topic: 'orders.eu.1', data: { item: 'book', qty: 2 }, priority: 'normal', offset: 42, epoch: 'e7f3' }]);
  t.same(all.items.map((message) => message.topic), ['orders.eu.1', 'orders.us.1']);
  t.same(client.position('orders.eu.1'), { offset: 42, epoch: 'e7f3' });
});

t.test('two subscriptions of one pattern share one broker subscription; the last unsubscribe ends it', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const a = client.subscribe('a.b', () => {});
  const b = client.subscribe('a.b', () => {});
  const request = await connection.next('subscribe');
  connection.send({ op: 'subscribed', id: request.id, pattern: 'a.b' });
  await Promise.all([a, b]);
  a.unsubscribe();
  await delay(20);
  t.same(connection.received.filter((message) => message.op === 'unsubscribe'), [], 'b still holds it');
  b.unsubscribe();
  t.match(await connection.next('unsubscribe'), { op: 'unsubscribe', pattern: 'a.b' });
  t.equal(b.state, 'ended');
});

t.test('a refused subscribe rejects its promise and reports to onError', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const errors: SwitchboardError[] = [];
  const subscription = client.subscribe('secret.*', () => {}, { onError: (error) => errors.push(error) });
  const request = await connection.next('subscribe');
  connection.send({ op: 'error', id: request.id, code: 'forbidden', message: 'subscribe to secret.* is not permitted' });
  await t.rejects(subscription.ready, { name: 'SwitchboardError', code: 'forbidden', topic: 'secret.*' });
  t.equal(subscription.state, 'ended');
  t.match(errors, [{ code: 'forbidden' }]);
  t.throws(() => client.subscribe('bad..pattern' as 'x', () => {}), { code: 'invalid_topic' }, 'an invalid pattern throws at once');
});

t.test('the broker ending a subscription (unsubscribed without id) ends it with its code', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const errors: SwitchboardError[] = [];
  const subscription = client.subscribe('orders.>', () => {}, { onError: (error) => errors.push(error) });
  const request = await connection.next('subscribe');
  connection.send({ op: 'subscribed', id: request.id, pattern: 'orders.>' });
  await subscription;
  connection.send({ op: 'unsubscribed', pattern: 'orders.>', code: 'forbidden' });
  await until(() => subscription.state === 'ended', 'the subscription to end');
  t.match(subscription.error, { code: 'forbidden' });
  t.match(errors, [{ code: 'forbidden' }]);
});

t.test('publish: JSON as text, bytes as binary, acked by id; priorities and keys on the wire', async (t) => {
  const { broker, client } = await setup(t);
  const early = client.publish('orders.eu.1', { item: 'book', qty: 2 });
  const connection = await welcomed(broker);
  t.same(await connection.next('publish'), { op: 'publish', id: 1, topic: 'orders.eu.1', priority: 'normal', data: { item: 'book', qty: 2 } }, 'a publish made before welcome waits for it');
  connection.send({ op: 'published', id: 1, offset: 1042, epoch: 'e7f3' });
  t.same(await early, { topic: 'orders.eu.1', offset: 1042, epoch: 'e7f3', duplicate: false });

  const binary = client.publish('cam.1', new Uint8Array([1, 2, 3]), { priority: 'low' });
  t.same(await connection.next('publish'), { op: 'publish', id: 2, topic: 'cam.1', priority: 'low', data: new Uint8Array([1, 2, 3]) });
  connection.send({ op: 'published', id: 2 });
  t.same(await binary, { topic: 'cam.1', duplicate: false });

  const keyed = client.publish('alerts.fire', 'evacuate', { priority: 'high', key: 'alarm-1' });
  t.same(await connection.next('publish'), { op: 'publish', id: 3, topic: 'alerts.fire', priority: 'high', key: 'alarm-1', data: 'evacuate' });
  connection.send({ op: 'published', id: 3, offset: 9, epoch: 'e', duplicate: true });
  t.same(await keyed, { topic: 'alerts.fire', offset: 9, epoch: 'e', duplicate: true });

  const buffer = client.publish('cam.1', Buffer.from('abc'));
  t.same((await connection.next('publish')).data, new Uint8Array([0x61, 0x62, 0x63]), 'a Node Buffer is bytes');
  connection.send({ op: 'published', id: 4 });
  await buffer;
  const arrayBuffer = client.publish('cam.1', new Uint8Array([9, 8]).buffer);
  t.same((await connection.next('publish')).data, new Uint8Array([9, 8]), 'an ArrayBuffer is bytes');
  connection.send({ op: 'published', id: 5 });
  await arrayBuffer;
});

t.test('publish failures: the broker code, local validation, fire-and-forget errors as events', async (t) => {
  const { broker, client, errors } = await setup(t, { publishRetries: 0 });
  const connection = await welcomed(broker);
  const refused = client.publish('secret.x', 1);
  const request = await connection.next('publish');
  connection.send({ op: 'error', id: request.id!, code: 'forbidden', message: 'not permitted' });
  await t.rejects(refused, { code: 'forbidden', topic: 'secret.x' });
  await t.rejects(client.publish('bad topic', 1), { code: 'invalid_topic' });
  await t.rejects(client.publish('a.b', undefined), { code: 'invalid_payload' });
  await t.rejects(client.publish('a.b', () => 1), { code: 'invalid_payload' });
  await t.rejects(client.publish('a.b', 'x'.repeat(2000)), { code: 'message_too_big' }, 'over the broker maxMessageBytes: refused locally');
  await t.rejects(client.publish('a.b', 1, { priority: 'urgent' as 'high' }), { code: 'bad_request' });

  const fireAndForget = await client.publish('a.b', 1, { ack: false });
  t.equal(fireAndForget, undefined, 'settles once written');
  t.same(await connection.next('publish'), { op: 'publish', topic: 'a.b', priority: 'normal', data: 1 }, 'no id: no answer expected');
  connection.send({ op: 'error', code: 'rate_limited', message: 'publish rate 100/s exceeded', topic: 'a.b', retryAfterMs: 250 });
  await until(() => errors.length > 0, 'the error event');
  t.match(errors[0], { code: 'rate_limited', topic: 'a.b', retryAfterMs: 250 }, 'a loss is never silent');
});

t.test('a retryable refusal is sent again after retryAfterMs', async (t) => {
  const { broker, client } = await setup(t, { publishRetries: 1 });
  const connection = await welcomed(broker);
  const publish = client.publish('a.b', 'x');
  const first = await connection.next('publish');
  connection.send({ op: 'error', id: first.id!, code: 'rate_limited', message: 'slow down', retryAfterMs: 30 });
  const second = await connection.next('publish');
  t.not(second.id, first.id, 'a new request id');
  connection.send({ op: 'error', id: second.id!, code: 'rate_limited', message: 'slow down', retryAfterMs: 30 });
  await t.rejects(publish, { code: 'rate_limited', retryAfterMs: 30 }, 'retries used up: the broker code');
});

// protocol.md §8.5: per connection and topic, offsets follow the order of the publishes; a retry never
// lets a later publish of its topic overtake it.
t.test('publisher order: a refused publish is not resent behind a later one of its topic; it fails with the broker code', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const first = client.publish('a.b', 1, { key: 'k1' });
  const second = client.publish('a.b', 2, { key: 'k2' });
  const [sentFirst, sentSecond] = [await connection.next('publish'), await connection.next('publish')];
  connection.send({ op: 'error', id: sentFirst.id!, code: 'unavailable', message: 'engine down', retryAfterMs: 20 });
  connection.send({ op: 'published', id: sentSecond.id!, offset: 7, epoch: 'e' });
  t.match(await second, { offset: 7 });
  await t.rejects(first, { code: 'unavailable', topic: 'a.b' }, 'a resend would get an offset above 7: it fails instead');
  await delay(80);
  t.same(connection.received.filter((message) => message.op === 'publish').map((message) => message.data), [1, 2], 'never resent');
});

t.test('publisher order: publishes of a topic made while an earlier one waits for its retry go after it; other topics do not wait', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const first = client.publish('a.b', 1, { key: 'k1' });
  const refused = await connection.next('publish');
  connection.send({ op: 'error', id: refused.id!, code: 'rate_limited', message: 'slow down', retryAfterMs: 50 });
  await until(() => client.queued.messages === 1, 'the refusal to arrive');
  const second = client.publish('a.b', 2, { key: 'k2' });
  const other = client.publish('c.d', 3);
  const sent = [await connection.next('publish'), await connection.next('publish'), await connection.next('publish')];
  t.same(sent.map((message) => [message.topic, message.data]), [['c.d', 3], ['a.b', 1], ['a.b', 2]], 'held behind the retry, in publish order');
  for (const [index, message] of sent.entries()) connection.send({ op: 'published', id: message.id!, offset: index + 1, epoch: 'e' });
  t.same(await Promise.all([first, second, other]).then((acks) => acks.map((ack) => ack.offset)), [2, 3, 1]);
});

t.test('an unkeyed publish refused with unavailable is not retried (the engine may have applied it); a keyed one is', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const unkeyed = client.publish('a.b', 'maybe');
  const request = await connection.next('publish');
  connection.send({ op: 'error', id: request.id!, code: 'unavailable', message: 'publish not confirmed by Redis', retryAfterMs: 20 });
  await t.rejects(unkeyed, { code: 'unavailable', topic: 'a.b' });
  const keyed = client.publish('a.b', 'safe', { key: 'k' });
  const attempt = await connection.next('publish');
  connection.send({ op: 'error', id: attempt.id!, code: 'unavailable', message: 'engine down', retryAfterMs: 20 });
  const retry = await connection.next('publish');
  t.same([retry.key, retry.data], ['k', 'safe'], 'the keyed one is resent: a duplicate would be acknowledged, not published');
  connection.send({ op: 'published', id: retry.id!, offset: 1, epoch: 'e' });
  t.match(await keyed, { offset: 1 });
  t.same(connection.received.filter((message) => message.op === 'publish').map((message) => message.data), ['maybe', 'safe', 'safe']);
});

t.test('large publishes travel as chunks of chunkBytes, the JSON ones as json chunks', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const payload = Uint8Array.from({ length: 150 }, (_, index) => index);
  const publish = client.publish('files.a', payload, { priority: 'low' });
  const chunks = [await connection.next('chunk'), await connection.next('chunk'), await connection.next('chunk')];
  t.same(
    chunks.map(({ data, ...header }) => header),
    [
      { op: 'chunk', transfer: 1, index: 0, last: false, total: 150, encoding: 'binary', header: { op: 'publish', id: 1, topic: 'files.a', priority: 'low' } },
      { op: 'chunk', transfer: 1, index: 1, last: false },
      { op: 'chunk', transfer: 1, index: 2, last: true },
    ],
  );
  t.same(chunks.map((chunk) => chunk.data.length), [64, 64, 22]);
  t.same(Buffer.concat(chunks.map((chunk) => chunk.data)), Buffer.from(payload));
  connection.send({ op: 'published', id: 1, offset: 1, epoch: 'e' });
  await publish;

  const json = client.publish('files.b', { text: 'é'.repeat(40) });
  const jsonChunks = [await connection.next('chunk'), await connection.next('chunk')];
  t.match(jsonChunks[0], { transfer: 2, total: 91, encoding: 'json' }, '{"text":"éé...é"} is 9 + 80 + 2 UTF-8 bytes');
  t.equal(new TextDecoder().decode(Buffer.concat(jsonChunks.map((chunk) => chunk.data))), JSON.stringify({ text: 'é'.repeat(40) }));
  connection.send({ op: 'published', id: 2 });
  await json;
});

t.test('a burst is written by priority: an urgent publish goes before a large upload made just before it', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  void client.publish('files.big', new Uint8Array(400), { priority: 'low', ack: false });
  void client.publish('alerts.fire', 'now', { priority: 'high', ack: false });
  await until(() => connection.received.length === 8, 'seven chunks and the alert');
  t.same(connection.received.map((message) => (message.op === 'chunk' ? `chunk ${message.index}` : message.op)), [
    'publish',
    'chunk 0',
    'chunk 1',
    'chunk 2',
    'chunk 3',
    'chunk 4',
    'chunk 5',
    'chunk 6',
  ]);
});

t.test('an aborted publish: unsent it is dropped; half-sent its transfer is cancelled', async (t) => {
  const { broker, client } = await setup(t);
  const before = new AbortController();
  const dropped = client.publish('a.b', 1, { signal: before.signal });
  before.abort();
  await t.rejects(dropped, { code: 'aborted' });
  await t.rejects(client.publish('a.b', 1, { signal: AbortSignal.abort() }), { code: 'aborted' });
  t.same(client.queued, { messages: 0, bytes: 0 });

  const connection = await welcomed(broker);
  // A 1-byte high-water mark with a socket the test does not read from would be needed to stop mid-transfer
  // on a real socket; abort on the first chunk's arrival instead: the rest is still queued behind it.
  const controller = new AbortController();
  const upload = client.publish('files.big', new Uint8Array(640), { signal: controller.signal });
  await connection.next('chunk');
  controller.abort();
  await t.rejects(upload, { code: 'aborted' });
  const chunksSent = connection.received.filter((message) => message.op === 'chunk').length;
  if (chunksSent < 10) t.match(await connection.next('cancel'), { op: 'cancel', transfer: 1 }, `cancelled after ${chunksSent} chunks`);
  else t.pass('the socket took all ten chunks at once: nothing left to cancel');
});

t.test('the offline queue: publishes wait while disconnected, in order, within their bound', async (t) => {
  const { broker, client } = await setup(t, { sendQueue: { maxMessages: 3, maxBytes: 100 } });
  const publishes = [client.publish('q.a', 1), client.publish('q.b', 2), client.publish('q.c', 3)];
  await t.rejects(client.publish('q.d', 4), { code: 'send_queue_full' }, 'the fourth is refused at once');
  t.same(client.queued, { messages: 3, bytes: 3 });
  await t.rejects(client.publish('q.e', 'x'.repeat(100)), { code: 'send_queue_full' }, 'over maxBytes');
  const connection = await welcomed(broker);
  const sent = [await connection.next('publish'), await connection.next('publish'), await connection.next('publish')];
  t.same(sent.map((message) => message.topic), ['q.a', 'q.b', 'q.c']);
  for (const message of sent) connection.send({ op: 'published', id: message.id! });
  await Promise.all(publishes);
  t.same(client.queued, { messages: 0, bytes: 0 });
});

t.test('the offline queue: a publish that waits longer than timeoutMs rejects with send_timeout', async (t) => {
  const { client } = await setup(t, { sendQueue: { timeoutMs: 50 } });
  const started = Date.now();
  await t.rejects(client.publish('q.a', 1), { code: 'send_timeout', topic: 'q.a' });
  t.ok(Date.now() - started >= 45);
  t.same(client.queued, { messages: 0, bytes: 0 });
});

t.test('the connection drops: unsent publishes are resent, unacked keyed ones too, unkeyed ones reject', async (t) => {
  const { broker, client } = await setup(t);
  const first = await welcomed(broker);
  const unkeyed = client.publish('a.b', 'maybe');
  const keyed = client.publish('a.b', 'safe', { key: 'k-1' });
  await first.next('publish');
  await first.next('publish');
  first.terminate();
  await t.rejects(unkeyed, { code: 'connection_lost', topic: 'a.b' }, 'written, unacked, no key: the outcome is unknown');
  const queuedMeanwhile = client.publish('a.b', 'later');
  const second = await welcomed(broker, 1);
  const resent = [await second.next('publish'), await second.next('publish')];
  t.same(resent.map((message) => [message.key, message.data]), [['k-1', 'safe'], [undefined, 'later']]);
  for (const message of resent) second.send({ op: 'published', id: message.id!, duplicate: message.key !== undefined });
  t.match(await keyed, { duplicate: true });
  await queuedMeanwhile;
});

t.test('reconnect: every pattern is subscribed again with since; a failed recovery is reported', async (t) => {
  const { broker, client, states } = await setup(t);
  const first = await welcomed(broker);
  const messages = new Inbox<Message<unknown>>();
  const failures = new Inbox<RecoveryFailure>();
  const subscription = client.subscribe('prices.*', messages.push, { onRecoveryFailed: failures.push });
  const request = await first.next('subscribe');
  first.send({ op: 'subscribed', id: request.id, pattern: 'prices.*' });
  await subscription;
  for (const offset of [1, 2, 3]) first.send({ op: 'message', topic: 'prices.AAPL', priority: 'normal', offset, epoch: 'e1', data: offset });
  first.send({ op: 'message', topic: 'prices.MSFT', priority: 'normal', offset: 8, epoch: 'e1', data: 8 });
  await messages.atLeast(4);
  first.close(4003, 'engine lost');
  const second = await welcomed(broker, 1);
  const resubscribe = await second.next('subscribe');
  t.same(resubscribe.since, { 'prices.AAPL': { offset: 3, epoch: 'e1' }, 'prices.MSFT': { offset: 8, epoch: 'e1' } });
  second.send({
    op: 'subscribed',
    id: resubscribe.id,
    pattern: 'prices.*',
    recovery: {
      'prices.AAPL': { status: 'recovered', epoch: 'e1', offset: 5 },
      'prices.MSFT': { status: 'failed', reason: 'expired', epoch: 'e1', offset: 210 },
    },
  });
  for (const offset of [4, 5]) second.send({ op: 'message', topic: 'prices.AAPL', priority: 'normal', offset, epoch: 'e1', data: offset });
  second.send({ op: 'message', topic: 'prices.AAPL', priority: 'normal', offset: 3, epoch: 'e1', data: 'duplicate' });
  second.send({ op: 'message', topic: 'prices.MSFT', priority: 'normal', offset: 211, epoch: 'e1', data: 211 });
  await messages.atLeast(7);
  await delay(20);
  t.same(messages.items.map((message) => message.data), [1, 2, 3, 8, 4, 5, 211], 'replayed in order, the duplicate dropped');
  t.same(failures.items, [{ topic: 'prices.MSFT', reason: 'expired', epoch: 'e1', offset: 210 }]);
  t.same(client.position('prices.MSFT'), { offset: 211, epoch: 'e1' });
  t.same(
    states.map((change) => [change.state, change.closeCode]),
    [
      ['connected', undefined],
      ['disconnected', 4003],
      ['reconnecting', undefined],
      ['connected', undefined],
    ],
  );
  t.equal(states[1]!.retryInMs, 0, 'random() = 0: the backoff delay is 0');
});

t.test('a delivery in a new epoch means history was lost: recovery failed', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const failures = new Inbox<RecoveryFailure>();
  client.subscribe('t.*', () => {}, { onRecoveryFailed: failures.push });
  const request = await connection.next('subscribe');
  connection.send({ op: 'subscribed', id: request.id, pattern: 't.*' });
  connection.send({ op: 'message', topic: 't.1', priority: 'normal', offset: 50, epoch: 'old', data: 1 });
  connection.send({ op: 'message', topic: 't.1', priority: 'normal', offset: 1, epoch: 'new', data: 2 });
  t.same(await failures.atLeast(1), [{ topic: 't.1', reason: 'epoch_mismatch', epoch: 'new', offset: 0 }]);
});

t.test('gaps reach the handlers of matching subscriptions and move the position', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const gaps = new Inbox<Gap>();
  client.subscribe('prices.*', () => {}, { onGap: gaps.push });
  client.subscribe('other.*', () => {}, { onGap: () => t.fail('not this one') });
  await connection.next('subscribe');
  connection.send({ op: 'message', topic: 'prices.AAPL', priority: 'normal', offset: 117, epoch: 'e7f3', data: 1 });
  connection.send({ op: 'gap', topic: 'prices.AAPL', epoch: 'e7f3', from: 118, to: 131, reason: 'conflation' });
  connection.send({ op: 'message', topic: 'prices.AAPL', priority: 'normal', offset: 132, epoch: 'e7f3', data: 2 });
  t.same(await gaps.atLeast(1), [{ topic: 'prices.AAPL', epoch: 'e7f3', from: 118, to: 131, reason: 'conflation' }]);
  await until(() => client.position('prices.AAPL')?.offset === 132, 'the position to pass the gap');
});

t.test('chunked deliveries: reassembled; one the broker cancels is dropped; one too big is a gap', async (t) => {
  const { broker, client, errors } = await setup(t);
  const connection = await welcomed(broker);
  const messages = new Inbox<Message<unknown>>();
  const gaps = new Inbox<Gap>();
  client.subscribe('video.>', messages.push, { onGap: gaps.push });
  await connection.next('subscribe');
  const header: DeliveryHeader = { op: 'message', topic: 'video.cam1', priority: 'low', offset: 7, epoch: 'e' };
  const payload = Uint8Array.from({ length: 150 }, (_, index) => index * 3);
  const sendChunks = (transfer: number, bytes: Uint8Array, deliveryHeader: DeliveryHeader, count = Infinity): void => {
    for (const { data, ...chunkHeader } of splitIntoChunks(deliveryHeader, bytes, scriptedLimits.chunkBytes, { transfer, encoding: 'binary' }).slice(0, count)) {
      connection.socket.send(encodeBinary(chunkHeader, data));
    }
  };
  sendChunks(907, payload, header);
  t.same((await messages.atLeast(1))[0], { topic: 'video.cam1', data: payload, priority: 'low', offset: 7, epoch: 'e' });

  sendChunks(908, payload, { ...header, offset: 8 }, 2);
  connection.send({ op: 'cancel', transfer: 908 });
  connection.send({ op: 'gap', topic: 'video.cam1', epoch: 'e', from: 8, to: 8, reason: 'slow_consumer' });
  t.same(await gaps.atLeast(1), [{ topic: 'video.cam1', epoch: 'e', from: 8, to: 8, reason: 'slow_consumer' }]);

  sendChunks(909, new Uint8Array(2000), { ...header, offset: 9 }, 1);
  t.same((await gaps.atLeast(2))[1], { topic: 'video.cam1', epoch: 'e', from: 9, to: 9, reason: 'abandoned' }, 'over maxMessageBytes: the client abandons it');
  t.match(errors, [{ code: 'bad_server_message' }]);
  sendChunks(910, payload, { ...header, offset: 10 });
  await messages.atLeast(2);
  t.equal(messages.items.length, 2);
  t.same(client.position('video.cam1'), { offset: 8, epoch: 'e' }, 'the abandoned offset 9 holds the position (protocol.md §7.4)');
});

t.test('close codes: 4400-4499 close for good; 4100-4199 reconnect at once; 4000-4099 back off', async (t) => {
  const { broker, client, states } = await setup(t);
  const first = await welcomed(broker);
  first.close(4100, 'shutdown');
  const second = await welcomed(broker, 1);
  t.match(states.find((change) => change.state === 'disconnected'), { closeCode: 4100, retryInMs: 0, error: { code: 'closed', closeCode: 4100 } });
  second.close(4401, 'unauthorized');
  await until(() => client.state === 'closed', 'the client to close');
  t.match(states.at(-1), { state: 'closed', closeCode: 4401, error: { code: 'closed', closeCode: 4401 } });
  await delay(50);
  t.equal(broker.connections.length, 2, 'no further attempt');
  await t.rejects(client.publish('a.b', 1), { code: 'client_closed' });
  await t.rejects(client.whenConnected(), { code: 'client_closed' });
});

t.test('backoff grows between failed attempts and resets after a stable connection', async (t) => {
  const clock = new FakeClock();
  const { broker, states } = await setup(t, { clock, random: () => 0.5, reconnect: { initialDelayMs: 40, maxDelayMs: 1000, stableAfterMs: 1000 } });
  const ended = (): StateChange[] => states.filter((change) => change.state === 'disconnected');
  const attempts = (): number => states.filter((change) => change.state === 'connecting' || change.state === 'reconnecting').length;
  broker.rejectWith(503);
  await until(() => ended().length === 1, 'the first refused attempt');
  clock.advance(19);
  t.equal(attempts(), 0, 'no attempt before the delay is over');
  clock.advance(1);
  t.equal(attempts(), 1, 'the next attempt when it is');
  await until(() => ended().length === 2, 'the second refused attempt');
  clock.advance(40);
  await until(() => ended().length === 3, 'the third refused attempt');
  t.same(ended().map((change) => change.retryInMs), [20, 40, 80], 'half of 40, 80, 160 ms');
  t.match(ended()[0], { closeCode: 1006, error: { code: 'unavailable' } }, 'HTTP 503 is unavailable');

  broker.rejectWith(undefined);
  clock.advance(80);
  await welcomed(broker, 0);
  await until(() => states.at(-1)?.state === 'connected', 'the fourth attempt to connect');
  clock.advance(1000);
  broker.connections[0]!.close(4000, 'backoff');
  await until(() => ended().length === 4, 'the stable connection to end');
  t.match(ended()[3], { closeCode: 4000, retryInMs: 20, attempt: 0 }, 'a connection that lasted stableAfterMs resets the backoff');

  clock.advance(20);
  await welcomed(broker, 1);
  await until(() => states.at(-1)?.state === 'connected', 'the reconnect');
  clock.advance(999);
  broker.connections[1]!.close(4000, 'backoff');
  await until(() => ended().length === 5, 'the short connection to end');
  t.match(ended()[4], { closeCode: 4000, retryInMs: 40, attempt: 1 }, 'a shorter one does not: the backoff goes on growing');
});

t.test('HTTP 401: with a fixed token the client closes; with getToken it asks for a new token and retries', async (t) => {
  const fixed = await setup(t, { token: 'expired' });
  fixed.broker.rejectWith(401);
  await until(() => fixed.client.state === 'closed', 'the client to close');
  t.match(fixed.states.at(-1), { state: 'closed', error: { code: 'invalid_token' } });

  const tokens = ['old', 'new'];
  let calls = 0;
  const refreshing = await setup(t, { getToken: () => tokens[Math.min(calls++, 1)] });
  refreshing.broker.rejectWith(401);
  await until(() => calls >= 1 && refreshing.states.some((change) => change.state === 'disconnected'), 'a refused attempt');
  refreshing.broker.rejectWith(undefined);
  const connection = await refreshing.broker.connection(0);
  t.equal(connection.headers.authorization, 'Bearer new', 'getToken is called before every attempt');
  connection.welcome();
  await refreshing.client.whenConnected();
});

t.test('token expiry: refresh at about 90% of the lifetime, and at once on a token_expired notice', async (t) => {
  const clock = new FakeClock();
  let calls = 0;
  const { broker, client } = await setup(t, { clock, pingIntervalMs: 0, getToken: () => `token-${++calls}` });
  const connection = await broker.connection(0);
  t.equal(connection.headers.authorization, 'Bearer token-1');
  connection.welcome({ tokenExpiresAt: clock.now() + 100_000 });
  await client.whenConnected();
  clock.advance(80_000);
  t.equal(calls, 1, 'no refresh at 80% of the lifetime');
  clock.advance(9_999);
  t.equal(calls, 1, 'nor just before 90%');
  clock.advance(1);
  t.equal(calls, 2, 'a new token is asked for at 90%');
  const refresh = await connection.next('refresh');
  t.same(refresh, { op: 'refresh', id: refresh.id, token: 'token-2' }, 'refreshed before expiry');
  connection.send({ op: 'refreshed', id: refresh.id, tokenExpiresAt: clock.now() + 3_600_000 });
  connection.send({ op: 'error', code: 'token_expired', message: 'token expired; refresh within 10000 ms' });
  t.match(await connection.next('refresh'), { token: 'token-3' }, 'a notice refreshes at once');
  t.equal(client.state, 'connected');
});

t.test('4102 token_expired: reconnect at once with a new token', async (t) => {
  let calls = 0;
  const { broker } = await setup(t, { getToken: () => `token-${++calls}` });
  const first = await welcomed(broker);
  first.close(4102, 'token expired');
  const second = await broker.connection(1);
  t.equal(second.headers.authorization, 'Bearer token-2');
});

t.test('a silent broker: no pong within pingTimeoutMs drops the connection and reconnects', async (t) => {
  const { broker, client, states } = await setup(t, { pingIntervalMs: 30, pingTimeoutMs: 40 });
  const first = await welcomed(broker);
  t.match(await first.next('ping'), { op: 'ping' });
  const second = await welcomed(broker, 1);
  t.ok(second);
  t.match(states.find((change) => change.state === 'disconnected'), { closeCode: 1006, error: { code: 'ping_timeout' } });
  await client.whenConnected();
  second.autoPong();
  // Three answered pings span more than one ping timeout, however slowly this machine runs the timers; a
  // bounded wait for them, not a fixed sleep, so a loaded CI machine cannot fail it by being slow.
  const pings = (): number => second.received.filter((message) => message.op === 'ping').length;
  for (const deadline = Date.now() + 5000; pings() < 3 && Date.now() < deadline; ) await delay(10);
  t.ok(pings() >= 3, 'pings keep coming');
  t.equal(broker.connections.length, 2, 'answered pings keep the connection');
  t.type(await client.ping(), 'number', 'ping() measures a round trip');
});

t.test('no welcome within connectTimeoutMs: the attempt fails and is retried', async (t) => {
  const { broker, states } = await setup(t, { connectTimeoutMs: 50 });
  await broker.connection(0);
  const second = await welcomed(broker, 1);
  t.ok(second);
  t.match(states.find((change) => change.state === 'disconnected'), { error: { code: 'connect_failed' } });
});

t.test('schemas validate incoming payloads; failures go to onError and skip the handler', async (t) => {
  const { broker, client } = await setup(t);
  await client.close();
  const validated = createClient({
    url: broker.url,
    random: () => 0,
    schemas: { 'chat.*': z.object({ user: z.string(), text: z.string() }) },
  });
  t.teardown(() => validated.close());
  const connection = await welcomed(broker);
  const messages = new Inbox<Message<{ user: string; text: string }>>();
  const errors = new Inbox<SwitchboardError>();
  validated.subscribe('chat.*', messages.push, { onError: errors.push });
  await connection.next('subscribe');
  connection.send({ op: 'message', topic: 'chat.x', priority: 'normal', offset: 1, epoch: 'e', data: { user: 'ann', text: 'hi' } });
  connection.send({ op: 'message', topic: 'chat.x', priority: 'normal', offset: 2, epoch: 'e', data: { user: 'bob' } });
  t.match(await errors.atLeast(1), [{ code: 'invalid_payload', topic: 'chat.x' }]);
  t.same(messages.items.map((message) => message.data), [{ user: 'ann', text: 'hi' }]);
  await t.rejects(validated.publish('chat.x', { user: 'ann' } as { user: string; text: string }), { code: 'invalid_payload' }, 'outgoing payloads too');
});

t.test('a handler that throws is reported and does not stop other handlers', async (t) => {
  const { broker, client, errors } = await setup(t);
  const connection = await welcomed(broker);
  const seen = new Inbox<string>();
  client.subscribe('a.*', () => {
    throw new Error('boom');
  });
  client.subscribe('a.*', (message) => seen.push(message.topic));
  await connection.next('subscribe');
  connection.send({ op: 'message', topic: 'a.b', priority: 'normal', offset: 1, epoch: 'e', data: 1 });
  await seen.atLeast(1);
  t.match(errors, [{ code: 'handler_failed', cause: { message: 'boom' } }]);
});

t.test('unknown server ops are ignored (protocol.md §1)', async (t) => {
  const { broker, client, errors } = await setup(t);
  const connection = await welcomed(broker);
  connection.socket.send(JSON.stringify({ op: 'from_the_future', x: 1 }));
  await delay(30);
  t.same(errors, []);
  t.equal(client.state, 'connected');
});

t.test('close(): pending work rejects with client_closed, subscriptions end, the socket closes with 1000', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const subscription = client.subscribe('a.b', () => {});
  await connection.next('subscribe');
  const publish = client.publish('a.b', 1);
  const rejected = t.rejects(publish, { code: 'client_closed' }, 'written and unacked: rejected with client_closed');
  await connection.next('publish');
  const queued = t.rejects(client.publish('a.b', 2), { code: 'client_closed' });
  await within(client.close(), 'close');
  await rejected;
  await queued;
  t.equal(subscription.state, 'ended');
  await t.rejects(subscription.ready, { code: 'client_closed' });
  t.match(await connection.closed, { code: 1000 });
  t.equal(client.state, 'closed');
  t.throws(() => client.connect(), { code: 'client_closed' });
});

t.test('autoConnect false: nothing happens until connect()', async (t) => {
  const { broker, client } = await setup(t, { autoConnect: false });
  await delay(30);
  t.equal(client.state, 'disconnected');
  t.equal(broker.connections.length, 0);
  client.connect();
  await welcomed(broker);
  await client.whenConnected();
});

t.test('errors are SwitchboardErrors with stable codes', async (t) => {
  const error = new SwitchboardError('rate_limited', 'slow down', { retryAfterMs: 10 });
  t.ok(error instanceof Error);
  t.equal(error.retryable, true);
  t.equal(new SwitchboardError('send_queue_full', 'x').retryable, false);
});

t.test('the browser coming back online reconnects at once instead of waiting out the backoff', async (t) => {
  let online: (() => void) | undefined;
  let watching = false;
  const network = (onOnline: () => void): (() => void) => {
    online = onOnline;
    watching = true;
    return () => {
      watching = false;
    };
  };
  const { broker, client, states } = await setup(t, { network, random: () => 0.99, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
  const first = await welcomed(broker);
  first.terminate();
  await until(() => client.state === 'disconnected', 'the disconnect');
  t.ok(states.at(-1)!.retryInMs! > 50_000, 'the next attempt is a minute away');
  online!();
  await welcomed(broker, 1);
  await client.whenConnected();
  await client.close();
  t.notOk(watching, 'close() stops watching the network');
});

t.test('a written publish whose ack does not come rejects with ack_timeout', async (t) => {
  const { broker, client } = await setup(t, { ackTimeoutMs: 50 });
  const connection = await welcomed(broker);
  const publish = client.publish('a.b', 1);
  await connection.next('publish');
  await t.rejects(publish, { code: 'ack_timeout', topic: 'a.b' });
});

t.test('after a reconnect, queued publishes go before anything a connected listener publishes', async (t) => {
  const { broker, client } = await setup(t);
  const queued = client.publish('q.first', 1, { ack: false });
  client.on('connected', () => void client.publish('q.second', 2, { ack: false }));
  const connection = await welcomed(broker);
  t.same([(await connection.next('publish')).topic, (await connection.next('publish')).topic], ['q.first', 'q.second']);
  await queued;
});

t.test('a getToken that never settles fails the attempt after connectTimeoutMs instead of hanging', async (t) => {
  let calls = 0;
  const { broker, client, states } = await setup(t, {
    connectTimeoutMs: 60,
    getToken: () => (++calls === 1 ? new Promise<string>(() => {}) : 'fresh'),
  });
  const connection = await welcomed(broker);
  t.equal(connection.headers.authorization, 'Bearer fresh');
  await client.whenConnected();
  t.match(states[0], { state: 'disconnected', error: { code: 'token_unavailable', message: /did not settle within 60 ms/ } });
});

t.test('any ArrayBufferView travels as its bytes', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await welcomed(broker);
  const view = new DataView(new Uint8Array([9, 1, 2, 3, 9]).buffer, 1, 3);
  void client.publish('a.b', view, { ack: false });
  void client.publish('a.b', new Uint16Array([0x0102]), { ack: false });
  t.same((await connection.next('publish')).data, new Uint8Array([1, 2, 3]));
  t.same((await connection.next('publish')).data, new Uint8Array(new Uint16Array([0x0102]).buffer));
});

t.test('handshake refusals by HTTP status (protocol.md §2.1): 400, 403 and 404 close for good, 503 backs off', async (t) => {
  for (const [status, code] of [[400, 'unsupported_protocol'], [403, 'forbidden'], [404, 'bad_request']] as const) {
    const { broker, client, states } = await setup(t);
    broker.rejectWith(status);
    await until(() => client.state === 'closed', `the client to close on ${status}`);
    t.match(states.at(-1), { state: 'closed', closeCode: 1006, error: { code } }, `${status}: ${code}, not retried`);
    t.equal(states.filter((change) => change.state === 'disconnected').length, 0);
  }
});
