import type { GapMessage, ServerMessage } from '@switchboard/protocol';
import t from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import { MemoryCluster } from '../../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { type TestBroker, eventually, startBroker } from '../helpers/start-broker.js';

/**
 * Namespaces at work (issue 15), one setting at a time, on a real broker with WebSocket peers and the HTTP
 * API: history size and TTL, recovery off, who may subscribe and publish without a grant (with a token's
 * grants on top), the publish rate limit, the payload size, and the slow-consumer policy. The resolver's
 * rules themselves are test/config/namespaces.test.ts.
 */

const secret = 'namespaces-test-secret-of-32-bytes!';
const KiB = 1024;

interface HistoryBody {
  offset: number;
  publications: { offset: number }[];
}

async function historyOf(broker: TestBroker, topic: string, token?: string): Promise<{ status: number; body: HistoryBody }> {
  const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const answer = await broker.app.inject({ url: `/history?topic=${topic}&limit=100`, headers });
  return { status: answer.statusCode, body: answer.json() as HistoryBody };
}

async function postPublish(broker: TestBroker, topic: string, data: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers = { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) };
  const answer = await broker.app.inject({ method: 'POST', url: '/publish', headers, payload: JSON.stringify({ topic, data }) });
  return { status: answer.statusCode, body: answer.json() as Record<string, unknown> };
}

t.test('historySize and historyTtlMs per namespace; acks carry a position only where history is kept', async (t) => {
  let now = 1_000_000;
  const engine = new MemoryEngine({ cluster: new MemoryCluster({ now: () => now }) });
  const broker = await startBroker(
    t,
    { historySize: 10, historyTtlMs: 60_000, namespaces: { 'short.': { historySize: 2 }, 'brief.': { historyTtlMs: 1000 }, 'none.': { historySize: 0 } } },
    { engine },
  );
  const peer = await Peer.open(broker.url);
  t.teardown(() => peer.close());
  for (const topic of ['short.a', 'brief.a', 'top.a']) for (let n = 0; n < 5; n++) await peer.publish(topic, n);
  t.same((await historyOf(broker, 'short.a')).body.publications.map((p) => p.offset), [4, 5], 'short.: the last 2');
  t.equal((await historyOf(broker, 'top.a')).body.publications.length, 5, 'outside: HISTORY_SIZE 10');
  t.equal((await historyOf(broker, 'brief.a')).body.publications.length, 5, 'brief.: all 5, for now');
  now += 2000;
  t.equal((await historyOf(broker, 'brief.a')).body.publications.length, 0, 'brief.: expired after its 1 s TTL');
  t.equal((await historyOf(broker, 'top.a')).body.publications.length, 5, 'outside: the 60 s TTL keeps them');

  const kept = (await peer.publish('top.b', 1)) as ServerMessage & { offset?: number };
  t.match(kept, { op: 'published', offset: 1 }, 'a topic with history: the ack has its position');
  const unkept = (await peer.publish('none.b', 1)) as ServerMessage & { offset?: number };
  t.equal(unkept.op, 'published');
  t.notOk('offset' in unkept || 'epoch' in unkept, 'none. keeps no history: no position in the ack');
  t.notOk('offset' in (await postPublish(broker, 'none.b', 2)).body, 'nor in the POST /publish answer');
  t.match((await postPublish(broker, 'top.b', 2)).body, { offset: 2 });
});

t.test('recovery off: a subscribe with since answers no_history and replays nothing; other topics recover', async (t) => {
  const broker = await startBroker(t, { historySize: 10, namespaces: { 'live.': { recovery: false } } });
  const publisher = await Peer.open(broker.url);
  const subscriber = await Peer.open(broker.url);
  t.teardown(() => Promise.all([publisher.close(), subscriber.close()]));
  const first = { live: (await publisher.publish('live.a', 0)) as { offset: number; epoch: string }, kept: (await publisher.publish('kept.a', 0)) as { offset: number; epoch: string } };
  for (let n = 1; n < 3; n++) {
    await publisher.publish('live.a', n);
    await publisher.publish('kept.a', n);
  }
  const since = { 'live.a': { offset: first.live.offset, epoch: first.live.epoch }, 'kept.a': { offset: first.kept.offset, epoch: first.kept.epoch } };
  const answer = await subscriber.subscribe('*.a', { since });
  t.match(answer, {
    op: 'subscribed',
    recovery: {
      'live.a': { status: 'failed', reason: 'no_history', epoch: first.live.epoch, offset: 3 },
      'kept.a': { status: 'recovered', epoch: first.kept.epoch, offset: 3 },
    },
  });
  await subscriber.waitForDeliveries(2);
  t.same(
    subscriber.deliveries.map((delivery) => [delivery.topic, delivery.data]),
    [
      ['kept.a', 1],
      ['kept.a', 2],
    ],
    'only the topic outside live. is replayed',
  );
  await publisher.publish('live.a', 3);
  await subscriber.waitForDeliveries(3);
  t.same(subscriber.deliveries.at(-1)?.data, 3, 'live messages of live. still arrive');
  t.equal((await historyOf(broker, 'live.a')).body.publications.length, 4, 'live. keeps its history for GET /history');
});

t.test('subscribe and publish without a grant: anonymous, authenticated, nobody; a token\'s grants apply on top', async (t) => {
  const broker = await startBroker(t, {
    jwtSecret: secret,
    allowAnonymous: true,
    anonymousPublish: ['>'],
    anonymousSubscribe: ['>'],
    namespaces: {
      'open.': { subscribe: 'anonymous', publish: 'anonymous' },
      'members.': { subscribe: 'authenticated', publish: 'authenticated' },
      'closed.': { subscribe: 'nobody', publish: 'nobody' },
    },
  });
  const token = await signJwt({ sub: 'member', exp: Math.floor(Date.now() / 1000) + 3600, publish: ['closed.ops.>'], subscribe: ['closed.ops.>'] }, secret);
  const anonymous = await Peer.open(broker.url);
  const member = await Peer.open(broker.url, { headers: { authorization: `Bearer ${token}` } });
  t.teardown(() => Promise.all([anonymous.close(), member.close()]));
  const outcome = (message: ServerMessage): string => (message.op === 'error' ? message.code : message.op);
  const cases: [Peer, string, 'subscribe' | 'publish', string, string][] = [
    [anonymous, 'anonymous', 'subscribe', 'open.x', 'subscribed'],
    [anonymous, 'anonymous', 'subscribe', 'members.x', 'forbidden'],
    [anonymous, 'anonymous', 'subscribe', 'closed.x', 'forbidden'],
    [anonymous, 'anonymous', 'subscribe', 'elsewhere.x', 'subscribed'],
    [anonymous, 'anonymous', 'subscribe', '>', 'forbidden'],
    [anonymous, 'anonymous', 'publish', 'open.x', 'published'],
    [anonymous, 'anonymous', 'publish', 'members.x', 'forbidden'],
    [anonymous, 'anonymous', 'publish', 'closed.x', 'forbidden'],
    [anonymous, 'anonymous', 'publish', 'elsewhere.x', 'published'],
    [member, 'a token', 'subscribe', 'open.y', 'subscribed'],
    [member, 'a token', 'subscribe', 'members.y', 'subscribed'],
    [member, 'a token', 'subscribe', 'closed.y', 'forbidden'],
    [member, 'a token', 'subscribe', 'closed.ops.>', 'subscribed'],
    [member, 'a token', 'subscribe', 'elsewhere.y', 'forbidden'],
    [member, 'a token', 'publish', 'members.y', 'published'],
    [member, 'a token', 'publish', 'closed.y', 'forbidden'],
    [member, 'a token', 'publish', 'closed.ops.restart', 'published'],
    [member, 'a token', 'publish', 'elsewhere.y', 'forbidden'],
  ];
  for (const [peer, who, action, name, expected] of cases) {
    const answer = action === 'subscribe' ? await peer.subscribe(name) : await peer.publish(name, 1);
    t.equal(outcome(answer), expected, `${who}: ${action} ${name}: ${expected}`);
  }
  t.equal((await postPublish(broker, 'open.z', 1)).status, 200, 'POST /publish without a token to open.');
  t.equal((await postPublish(broker, 'closed.z', 1)).status, 403, 'POST /publish without a token to closed.');
  t.equal((await postPublish(broker, 'members.z', 1, token)).status, 200, 'POST /publish with a token to members.');
  t.equal((await postPublish(broker, 'members.z', 1)).status, 403, 'POST /publish without a token to members.');
  t.equal((await historyOf(broker, 'members.z')).status, 403, 'GET /history without a token in members.');
  t.equal((await historyOf(broker, 'members.z', token)).status, 200, 'GET /history with a token in members.');
});

t.test('publish rate per namespace: a token bucket of its own per connection; namespaces without one share the top level\'s', async (t) => {
  const broker = await startBroker(t, {
    publishRatePerSecond: 0,
    rateLimitCloseAfter: 0,
    namespaces: { 'slow.': { publishRatePerSecond: 1, publishRateBurst: 2 }, 'slower.': { publishRatePerSecond: 1, publishRateBurst: 1 }, 'plain.': { historySize: 1 } },
  });
  const peer = await Peer.open(broker.url);
  t.teardown(() => peer.close());
  t.equal((await peer.publish('slow.a', 1)).op, 'published');
  t.equal((await peer.publish('slower.a', 1)).op, 'published', 'another namespace spends from its own bucket');
  t.equal((await peer.publish('slow.b', 2)).op, 'published', 'slow.: a burst of 2');
  const limited = await peer.publish('slow.a', 3);
  t.match(limited, { op: 'error', code: 'rate_limited', message: 'publish rate 1/s for slow. exceeded' });
  t.ok((limited as { retryAfterMs?: number }).retryAfterMs !== undefined && (limited as { retryAfterMs: number }).retryAfterMs > 0, 'with retryAfterMs');
  t.match(await peer.publish('slower.b', 2), { op: 'error', code: 'rate_limited' });
  for (let n = 0; n < 20; n++) t.equal((await peer.publish(n % 2 === 0 ? 'top.a' : 'plain.a', n)).op, 'published', `outside, or a namespace without a rate: unlimited (${n})`);
});

t.test('maxMessageBytes per namespace: message_too_big over WebSocket (plain and chunked) and 413 over HTTP', async (t) => {
  const broker = await startBroker(t, { chunkBytes: 1024, maxMessageBytes: 64 * KiB, namespaces: { 'small.': { maxMessageBytes: 100 } } });
  const peer = await Peer.open(broker.url);
  t.teardown(() => peer.close());
  const large = 'x'.repeat(200);
  t.match(await peer.publish('small.a', large), { op: 'error', code: 'message_too_big', message: 'payload of 202 bytes exceeds maxMessageBytes 100 of namespace small.' });
  t.match(await peer.publish('small.a', 'x'.repeat(50)), { op: 'published' }, 'under the limit');
  t.match(await peer.publish('large.a', large), { op: 'published' }, 'outside: MAX_MESSAGE_BYTES');
  t.match(await peer.publish('small.a', 'y'.repeat(3000)), { op: 'error', code: 'message_too_big' }, 'a chunked publish too');
  t.match(await peer.publish('large.a', 'y'.repeat(3000)), { op: 'published' });
  const http = await postPublish(broker, 'small.a', large);
  t.equal(http.status, 413);
  t.match(http.body, { code: 'message_too_big' });
  t.equal((await postPublish(broker, 'large.a', large)).status, 200);
});

t.test('slowConsumerPolicy per namespace, before SLOW_CONSUMER_RULES: conflate in prices., disconnect in orders.', async (t) => {
  const cap = 256 * KiB;
  const broker = await startBroker(t, {
    maxQueuedBytes: cap,
    maxMessageBytes: 64 * KiB,
    chunkBytes: 64 * KiB,
    closeTimeoutMs: 30_000,
    slowConsumerRules: [{ pattern: 'prices.>', policy: 'disconnect' }],
    namespaces: { 'prices.': { slowConsumerPolicy: 'conflate' }, 'orders.': { slowConsumerPolicy: 'disconnect' } },
  });
  const publisher = await Peer.open(broker.url);
  const conflated = await Peer.open(broker.url);
  const closed = await Peer.open(broker.url);
  t.teardown(() => Promise.all([publisher.close(), conflated.close(), closed.close()]));
  await conflated.subscribe('prices.*');
  await closed.subscribe('orders.>');

  conflated.pause();
  const total = 2000;
  const payload = 'p'.repeat(4 * KiB);
  for (let sent = 0; sent < total; ) {
    const batch = [];
    for (let index = 0; index < 20 && sent < total; index++, sent++) batch.push(publisher.publish('prices.AAPL', { price: sent, payload }));
    await Promise.all(batch);
  }
  conflated.resume();
  const covered = (): number => {
    const offsets = new Set(conflated.deliveries.map((delivery) => delivery.offset));
    for (const message of conflated.messages) if (message.op === 'gap') for (let offset = message.from; offset <= message.to; offset++) offsets.add(offset);
    return offsets.size;
  };
  await eventually(() => covered() === total, 30_000, 'every offset delivered or announced');
  const gaps = conflated.messages.filter((message): message is GapMessage => message.op === 'gap');
  t.ok(gaps.length > 0 && gaps.every((gap) => gap.reason === 'conflation'), 'prices.: conflated (the namespace beats the rule that says disconnect)');
  t.equal((conflated.deliveries.at(-1)?.data as { price: number }).price, total - 1, 'the latest value arrives');
  t.equal(conflated.ws.readyState, 1, 'and the connection stays');

  closed.pause();
  const session = broker.broker.session(closed.welcome.connectionId);
  let sent = 0;
  while (session?.state === 'open' && sent < 5000) {
    const batch = [];
    for (let index = 0; index < 5; index++, sent++) batch.push(publisher.publish('orders.eu', { n: sent, payload: 'o'.repeat(8 * KiB) }));
    await Promise.all(batch);
  }
  closed.resume();
  t.equal((await closed.waitClosed(20_000)).code, 4001, 'orders.: disconnect, closed with 4001');
  t.notOk(closed.messages.some((message) => message.op === 'gap'), 'and nothing was dropped');
});
