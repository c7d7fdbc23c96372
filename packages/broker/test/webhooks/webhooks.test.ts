import t from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import type { ConfigInput } from '../../src/config/config.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { type TestBroker, eventually, eventuallyAsync, startBroker } from '../helpers/start-broker.js';
import { WebhookBackend, type WebhookEventBody } from '../helpers/webhook-backend.js';

/**
 * Webhooks against a real backend on a loopback port (issue 17, docs/operations.md "Webhooks"): every event,
 * signed and checked by the backend's own HMAC code; retries after 500s with the same event ids; a dead
 * backend that costs deliveries nothing, its overflow counted in /metrics.
 */

interface Teardown {
  teardown(fn: () => unknown): void;
}

const jwtSecret = 'a-test-secret-of-at-least-32-bytes!!';
const webhookSecret = 'whsec-a-test-secret-of-at-least-32-bytes';

async function open(t: Teardown, broker: TestBroker, sub?: string, info?: unknown): Promise<Peer> {
  const headers = sub === undefined ? {} : { Authorization: `Bearer ${await signJwt({ sub, subscribe: ['>'], publish: ['>'], ...(info === undefined ? {} : { info }) }, jwtSecret)}` };
  const peer = await Peer.open(broker.url, { headers });
  t.teardown(() => peer.close());
  return peer;
}

function webhookBroker(t: Teardown, backend: WebhookBackend, overrides: ConfigInput = {}): Promise<TestBroker> {
  return startBroker(t, {
    jwtSecret,
    allowAnonymous: true,
    presence: ['chat.>'],
    webhookUrl: backend.url,
    webhookSecret,
    webhookBatchDelayMs: 5,
    webhookRetryMinMs: 10,
    webhookRetryMaxMs: 50,
    webhookOccupancyGraceMs: 200,
    shutdownDrainMs: 2000,
    ...overrides,
  });
}

async function metric(broker: TestBroker, line: string): Promise<number> {
  const text = (await broker.app.inject({ url: '/metrics' })).body;
  const found = text.split('\n').find((candidate) => candidate.startsWith(line));
  return found === undefined ? 0 : Number(found.slice(found.lastIndexOf(' ') + 1));
}

const untilAccepted = (backend: WebhookBackend, type: string, count = 1) =>
  eventually(() => backend.acceptedOf(type).length >= count, 20_000, `${count} ${type} accepted`);

t.test('every event reaches the backend, signed, in the order it happened', async (t) => {
  const backend = await WebhookBackend.start(t, webhookSecret);
  const broker = await webhookBroker(t, backend, { namespaces: { 'chat.': { webhooks: { events: ['publication', 'presence.member_added', 'presence.member_removed', 'topic.occupied', 'topic.vacated'] } } } });
  const alice = await open(t, broker, 'alice', { name: 'Alice' });
  const connectionId = alice.welcome.connectionId;
  t.match(await alice.subscribe('chat.room1'), { op: 'subscribed' });
  t.match(await alice.publish('chat.room1', { text: 'hello' }), { op: 'published' });
  t.match(await alice.publish('news.today', { text: 'not asked for' }), { op: 'published' });
  await untilAccepted(backend, 'publication');
  await alice.close();
  await untilAccepted(backend, 'topic.vacated');

  for (const request of backend.requests) {
    t.ok(request.verified, 'the signature matches timestamp + "." + body under the secret');
    t.ok(Math.abs(request.timestamp - Date.now() / 1000) < 300, 'the timestamp is recent');
    t.equal(request.batch.node, 'test-node');
  }
  const events = backend.accepted;
  const of = (type: string): WebhookEventBody => events.find((event) => event.type === type) as WebhookEventBody;
  t.match(of('connection.opened'), { connectionId, user: 'alice', node: 'test-node' });
  t.match(of('topic.occupied'), { topic: 'chat.room1' });
  t.match(of('presence.member_added'), { topic: 'chat.room1', connectionId, user: 'alice', info: { name: 'Alice' } });
  t.match(of('publication'), { topic: 'chat.room1', connectionId, user: 'alice', data: { text: 'hello' }, offset: 1 });
  t.type(of('publication').epoch, 'string');
  t.match(of('presence.member_removed'), { topic: 'chat.room1', connectionId, user: 'alice', reason: 'disconnected' });
  t.match(of('connection.closed'), { connectionId, user: 'alice', code: 1000 });
  t.match(of('topic.vacated'), { topic: 'chat.room1' });
  t.equal(backend.acceptedOf('publication').length, 1, 'news.* asks for no publications: only chat.room1\'s was sent');
  t.equal(new Set(events.map((event) => event.id)).size, events.length, 'every event has its own id');
  const order = events.map((event) => event.type);
  t.ok(order.indexOf('connection.opened') < order.indexOf('topic.occupied'), 'opened before occupied');
  t.ok(order.indexOf('presence.member_added') < order.indexOf('publication'), 'added before the publication');
  t.ok(order.indexOf('presence.member_removed') < order.indexOf('topic.vacated'), 'removed before vacated');
  t.ok(
    events.every((event, index) => index === 0 || (events[index - 1] as WebhookEventBody).time <= event.time),
    'one ordered stream: event times never go back',
  );
});

t.test('a batch refused with 500 is retried with the same events and ids until accepted', async (t) => {
  const backend = await WebhookBackend.start(t, webhookSecret);
  backend.failNext = 3;
  const broker = await webhookBroker(t, backend);
  const peers = await Promise.all(['a', 'b', 'c'].map((user) => open(t, broker, user)));
  await untilAccepted(backend, 'connection.opened', 3);

  const failed = backend.requests.filter((request) => request.status === 500);
  t.equal(failed.length, 3, 'three attempts were refused');
  const accepted = backend.requests.filter((request) => request.status === 200);
  const firstAccepted = accepted[0];
  const firstFailed = failed[0];
  if (firstAccepted === undefined || firstFailed === undefined) throw new Error('no requests');
  t.equal(firstAccepted.batch.batch, firstFailed.batch.batch, 'the retried batch keeps its id');
  t.same(
    firstAccepted.batch.events.map((event) => event.id),
    firstFailed.batch.events.map((event) => event.id),
    'and its events, with their ids: the backend de-duplicates on them',
  );
  for (const request of backend.requests) t.ok(request.verified, 'every attempt is signed anew and verifies');
  const ids = backend.acceptedOf('connection.opened').map((event) => event.connectionId);
  t.same(new Set(ids), new Set(peers.map((peer) => peer.welcome.connectionId)), 'each connection once, accepted');
  t.equal(await metric(broker, 'switchboard_webhook_requests_total{outcome="status_5xx"'), 3);
  t.ok((await metric(broker, 'switchboard_webhook_retries_total')) >= 3, 'retries counted');
  // The backend stored the batch before the broker read its 2xx: the count follows within a moment.
  await eventuallyAsync(async () => (await metric(broker, 'switchboard_webhook_events_delivered_total')) >= 3, 'deliveries counted');
  t.pass('deliveries counted');
});

t.test('a backend that never answers slows no delivery; the overflow is counted in /metrics', async (t) => {
  const backend = await WebhookBackend.start(t, webhookSecret);
  backend.hang = true;
  const queueSize = 5;
  const broker = await webhookBroker(t, backend, {
    webhookQueueSize: queueSize,
    webhookBatchSize: 1,
    webhookTimeoutMs: 60_000,
    shutdownDrainMs: 0,
    namespaces: { 'feed.': { webhooks: { events: ['publication'] } } },
  });
  const subscriber = await open(t, broker, 'reader');
  const publisher = await open(t, broker, 'writer');
  t.match(await subscriber.subscribe('feed.prices'), { op: 'subscribed' });
  const count = 300;
  const acks = [];
  for (let index = 0; index < count; index++) acks.push(publisher.publish('feed.prices', { index }));
  for (const ack of await Promise.all(acks)) t.equal(ack.op, 'published');
  const delivered = await subscriber.waitForDeliveries(count);
  t.equal(delivered.length, count, 'every publication was delivered while the backend hung');

  const dropped = await metric(broker, 'switchboard_webhook_events_dropped_total{reason="queue_full"');
  const queued = await metric(broker, 'switchboard_webhook_events_total{type="publication"');
  t.ok(dropped > 0, `overflow counted (${dropped})`);
  t.equal(queued + dropped, count, 'every publication event was either queued or counted as dropped');
  t.ok(queued <= queueSize + 1, 'the queue held at most its size plus the batch in flight');
  t.ok((await metric(broker, 'switchboard_webhook_queue_events')) > 0, 'the waiting events are visible');
});

t.test('a topic left and joined again within the grace period is neither vacated nor occupied again', async (t) => {
  const backend = await WebhookBackend.start(t, webhookSecret);
  const broker = await webhookBroker(t, backend, { webhookOccupancyGraceMs: 1000, presence: [] });
  const first = await open(t, broker, 'mover');
  t.match(await first.subscribe('room.7'), { op: 'subscribed' });
  t.match(await first.subscribe('room.*'), { op: 'subscribed' });
  await untilAccepted(backend, 'topic.occupied');
  await first.close();
  // The user comes back (a reload, another node of the memory cluster) well within the grace period.
  const second = await open(t, broker, 'mover');
  t.match(await second.subscribe('room.7'), { op: 'subscribed' });
  await untilAccepted(backend, 'connection.opened', 2);
  await second.close();
  await untilAccepted(backend, 'topic.vacated');
  t.same(
    backend.accepted.filter((event) => event.type.startsWith('topic.')).map((event) => `${event.type} ${event.topic}`),
    ['topic.occupied room.7', 'topic.vacated room.7'],
    'one occupied, one vacated, and nothing for the wildcard subscription',
  );
});

t.test('a namespace sends its topics\' events to its own endpoint', async (t) => {
  const main = await WebhookBackend.start(t, webhookSecret);
  const chat = await WebhookBackend.start(t, webhookSecret);
  const broker = await webhookBroker(t, main, { namespaces: { 'chat.': { webhooks: { url: chat.url } } } });
  const peer = await open(t, broker, 'carol');
  t.match(await peer.subscribe('chat.lobby'), { op: 'subscribed' });
  t.match(await peer.subscribe('news.today'), { op: 'subscribed' });
  await untilAccepted(chat, 'presence.member_added');
  await untilAccepted(main, 'topic.occupied');
  await untilAccepted(chat, 'topic.occupied');
  t.same(main.accepted.map((event) => event.type), ['connection.opened', 'topic.occupied']);
  t.match(main.acceptedOf('topic.occupied'), [{ topic: 'news.today' }]);
  t.same(new Set(chat.accepted.map((event) => event.topic)), new Set(['chat.lobby']));
  for (const request of [...main.requests, ...chat.requests]) t.ok(request.verified, 'WEBHOOK_SECRET signs every endpoint');
});

t.test('closing the broker delivers what is queued first', async (t) => {
  const backend = await WebhookBackend.start(t, webhookSecret);
  const broker = await webhookBroker(t, backend, { webhookBatchDelayMs: 60_000 });
  const peer = await open(t, broker, 'dave');
  t.equal(backend.requests.length, 0, 'the batch waits for more events');
  await broker.app.close();
  t.match(backend.acceptedOf('connection.opened'), [{ connectionId: peer.welcome.connectionId }]);
  t.match(backend.acceptedOf('connection.closed'), [{ connectionId: peer.welcome.connectionId, code: 4100 }], 'the shutdown close is reported');
});

t.test('members a sweep removed are reported where each topic\'s namespace sends member_removed, and nowhere else', async (t) => {
  const main = await WebhookBackend.start(t, webhookSecret);
  const audit = await WebhookBackend.start(t, webhookSecret);
  const broker = await webhookBroker(t, main, {
    namespaces: { 'quiet.': { webhooks: { events: ['topic.occupied'] } }, 'audit.': { webhooks: { url: audit.url } } },
  });
  const webhooks = broker.broker.webhooks;
  if (webhooks === undefined) throw new Error('webhooks configured');
  const bob = { connectionId: 'c_swept', user: 'bob' };
  webhooks.onMembersSwept('quiet.room', [bob], 'expired');
  webhooks.onMembersSwept('audit.room', [bob], 'expired');
  webhooks.onMembersSwept('chat.room', [bob, { connectionId: 'c_anonymous' }], 'expired');
  await untilAccepted(main, 'presence.member_removed', 2);
  await untilAccepted(audit, 'presence.member_removed');
  t.match(main.acceptedOf('presence.member_removed'), [
    { topic: 'chat.room', connectionId: 'c_swept', user: 'bob', reason: 'expired', node: 'test-node' },
    { topic: 'chat.room', connectionId: 'c_anonymous', reason: 'expired' },
  ]);
  t.equal(main.acceptedOf('presence.member_removed').length, 2, 'quiet.* sends no member_removed; audit.* sends it elsewhere');
  t.notOk('user' in (main.acceptedOf('presence.member_removed')[1] ?? {}), 'an anonymous member has no user');
  t.match(audit.acceptedOf('presence.member_removed'), [{ topic: 'audit.room', connectionId: 'c_swept', reason: 'expired' }]);
  await webhooks.onNodeSwept('a-node-without-a-record');
  t.equal(main.acceptedOf('connection.closed').length, 0, 'without Redis there is no record of other nodes, and nothing to report');
});
