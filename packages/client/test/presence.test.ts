// The SDK's presence against a scripted broker (real sockets, real pubsub.v1 bytes): the subscribe asks for
// join/leave events, the list is read after `subscribed` with the events meanwhile kept and those at or below
// the snapshot's seq dropped, callbacks per level, re-reads after a presence_gap, a failed presence recovery
// and coalesced updates (debounced), since.seq on resubscribe, chunked listings, and no op without its
// capability.
import t, { type Test } from 'tap';
import type { JoinMessage, LeaveMessage, PresenceMessage } from '@switchboard/protocol';
import { type Client, type ClientOptions, type JoinEvent, type LeaveEvent, type MembersChange, type SwitchboardError, createClient } from '../src/index.js';
import { FakeClock } from './helpers/fake-clock.js';
import { type ScriptedConnection, startScriptedBroker } from './helpers/scripted-broker.js';
import { Inbox, delay, until } from './helpers/wait.js';

type Info = { name: string };
const topic = 'chat.room1';
const capabilities = ['presence', 'user_topics', 'server_subscriptions'];

interface Topics {
  'chat.*': { text: string };
}

async function setup(t: Test, options: Partial<ClientOptions<Topics>> = {}) {
  const broker = await startScriptedBroker();
  const client: Client<Topics, Info> = createClient<Topics, Info>({ url: broker.url, random: () => 0, reconnect: { initialDelayMs: 10, maxDelayMs: 10 }, ...options });
  const errors: SwitchboardError[] = [];
  client.on('error', (error) => errors.push(error));
  t.teardown(async () => {
    await client.close();
    await broker.close();
  });
  return { broker, client, errors };
}

function join(seq: number, connection: string, user: string | undefined, first: boolean, epoch = 'e1'): JoinMessage {
  return { op: 'join', topic, epoch, offset: 3, seq, connection, ...(user === undefined ? {} : { user }), info: { name: user ?? 'anon' }, first };
}

function leave(seq: number, connection: string, user: string | undefined, last: boolean): LeaveMessage {
  return { op: 'leave', topic, epoch: 'e1', offset: 3, seq, connection, ...(user === undefined ? {} : { user }), last, reason: 'disconnected' };
}

function snapshot(id: number, seq: number, users: Record<string, Record<string, Info | null>>): PresenceMessage {
  const connections = Object.values(users).reduce((sum, map) => sum + Object.keys(map).length, 0);
  return { op: 'presence', id, topic, epoch: 'e1', offset: 3, seq, stats: { connections, users: Object.keys(users).length, anonymous: 0 }, truncated: false, data: { users, anonymous: {} } };
}

function plain(client: { members: ReadonlyMap<string, ReadonlyMap<string, Info | null>> }) {
  return Object.fromEntries([...client.members].map(([user, connections]) => [user, Object.fromEntries(connections)]));
}

/** Welcomes the connection and answers the subscribe; returns the subscribe request. */
async function subscribed(connection: ScriptedConnection, welcome: Parameters<ScriptedConnection['welcome']>[0] = { capabilities }) {
  connection.welcome(welcome);
  const request = await connection.next('subscribe');
  return request;
}

t.test('subscribe with presence: snapshot after subscribed, events kept meanwhile, callbacks per level', async (t) => {
  const { broker, client, errors } = await setup(t);
  const joins = new Inbox<JoinEvent<Info>>();
  const userJoins = new Inbox<JoinEvent<Info>>();
  const leaves = new Inbox<LeaveEvent>();
  const changes = new Inbox<MembersChange<Info>>();
  const subscription = client.subscribe(topic, () => {}, { presence: 'connection', onJoin: joins.push, onLeave: leaves.push, onMembers: changes.push });
  const byUser = client.subscribe(topic, () => {}, { presence: 'user', onJoin: userJoins.push });
  const connection = await broker.connection(0);
  const request = await subscribed(connection);
  t.same(request, { op: 'subscribe', id: request.id, pattern: topic, presence: 'connection' }, 'the widest level of the two; no since yet');
  connection.send({ op: 'subscribed', id: request.id, pattern: topic });
  await Promise.all([subscription, byUser]);
  const read = await connection.next('presence');
  t.same(read, { op: 'presence', id: read.id, topic }, 'the list is read once for both');
  // Entries that arrive before the answer: 4 is in the snapshot (seq 5), 6 is not.
  connection.send(join(4, 'c_b1', 'bob', true));
  connection.send(join(6, 'c_a2', 'alice', false));
  connection.send(snapshot(read.id, 5, { alice: { c_a1: { name: 'Alice' } }, bob: { c_b1: { name: 'bob' } } }));
  await changes.atLeast(1);
  t.same(plain(subscription), { alice: { c_a1: { name: 'Alice' }, c_a2: { name: 'alice' } }, bob: { c_b1: { name: 'bob' } } });
  t.equal(byUser.members, subscription.members, 'one live list per topic');
  connection.send(leave(7, 'c_b1', 'bob', true));
  connection.send(join(7, 'c_dup', 'dup', true));
  connection.send(join(8, 'c_x', undefined, true));
  await until(() => subscription.anonymous.size === 1, 'the anonymous join');
  t.same(plain(subscription), { alice: { c_a1: { name: 'Alice' }, c_a2: { name: 'alice' } } }, 'bob left; seq 7 again is dropped');
  t.same(subscription.presenceCounts, { connections: 3, users: 1, anonymous: 1 });
  t.same(joins.items.map((event) => event.connectionId), ['c_b1', 'c_a2', 'c_x'], 'every join once, the ones before the snapshot included');
  t.same(userJoins.items.map((event) => event.connectionId), ['c_b1', 'c_x'], 'level user: first joins only');
  t.match(leaves.items, [{ connectionId: 'c_b1', user: 'bob', last: true, reason: 'disconnected', seq: 7 }]);
  t.same(changes.items.map((change) => change.cause), ['resync', 'leave', 'join']);
  const third = client.subscribe(topic, () => {}, { presence: 'user' });
  await third;
  t.equal(third.members, subscription.members, 'a later subscription of the topic shares the list');
  await delay(20);
  t.equal(connection.received.filter((message) => message.op === 'presence' || message.op === 'subscribe').length, 2, 'without a new subscribe or read');
  t.same(errors, []);
});

t.test('a presence_gap and a failed presence recovery re-read the list; a recovered one does not', async (t) => {
  const { broker, client } = await setup(t);
  const changes = new Inbox<MembersChange<Info>>();
  const subscription = client.subscribe(topic, () => {}, { presence: 'user', onMembers: changes.push });
  const connection = await broker.connection(0);
  const first = await subscribed(connection);
  connection.send({ op: 'subscribed', id: first.id, pattern: topic });
  const read = await connection.next('presence');
  connection.send(snapshot(read.id, 5, { alice: { c_a1: null } }));
  await changes.atLeast(1);
  connection.send(join(6, 'c_b1', 'bob', true));
  connection.send({ op: 'presence_gap', topic, epoch: 'e1', seq: 9, reason: 'slow_consumer' });
  const reread = await connection.next('presence');
  connection.send(join(10, 'c_c1', 'carol', true));
  connection.send(snapshot(reread.id, 9, { alice: { c_a1: null }, dave: { c_d1: null } }));
  await changes.atLeast(3);
  t.same(Object.keys(plain(subscription)).sort(), ['alice', 'carol', 'dave'], 'the snapshot replaced the list; the entry after it applied');

  connection.close(4003, 'again');
  const second = await broker.connection(1);
  const resubscribe = await subscribed(second);
  t.same(resubscribe.since, { [topic]: { offset: 3, epoch: 'e1', seq: 10 } }, 'since carries the last presence seq');
  second.send({ op: 'subscribed', id: resubscribe.id, pattern: topic, recovery: { [topic]: { status: 'recovered', epoch: 'e1', offset: 3, presence: { status: 'recovered', seq: 12 } } } });
  second.send(join(10, 'c_c1', 'carol', true));
  second.send(leave(11, 'c_d1', 'dave', true));
  second.send(join(12, 'c_e1', 'erin', true));
  await until(() => subscription.members.has('erin'), 'the replayed entries');
  t.same(Object.keys(plain(subscription)).sort(), ['alice', 'carol', 'erin']);
  t.notOk(second.received.some((message) => message.op === 'presence'), 'recovered: no re-read');

  second.close(4003, 'once more');
  const third = await broker.connection(2);
  const again = await subscribed(third);
  t.equal(again.since?.[topic]?.seq, 12);
  third.send({ op: 'subscribed', id: again.id, pattern: topic, recovery: { [topic]: { status: 'recovered', epoch: 'e1', offset: 3, presence: { status: 'failed', reason: 'expired', seq: 40 } } } });
  const afterFailure = await third.next('presence');
  third.send(snapshot(afterFailure.id, 40, { zed: { c_z: null } }));
  await until(() => subscription.members.has('zed'), 'the re-read list');
  t.same(Object.keys(plain(subscription)), ['zed']);
});

t.test('coalesced updates: one re-read 1 s after the storm calms, and no sooner than 5 s after the last', async (t) => {
  const clock = new FakeClock();
  const { broker, client } = await setup(t, { clock, pingIntervalMs: 0 });
  const subscription = client.subscribe(topic, () => {}, { presence: 'connection' });
  const connection = await broker.connection(0);
  const request = await subscribed(connection);
  connection.send({ op: 'subscribed', id: request.id, pattern: topic });
  const read = await connection.next('presence');
  connection.send(snapshot(read.id, 5, {}));
  await until(() => subscription.presenceCounts !== undefined, 'the snapshot');
  const reads = () => connection.received.filter((message) => message.op === 'presence').length;
  const stats = (seq: number) => connection.send({ op: 'presence_stats', topic, epoch: 'e1', offset: 3, seq, connections: seq, users: seq, anonymous: 0, coalesced: 50 });
  stats(6);
  await until(() => subscription.presenceCounts?.connections === 6, 'the stats entry');
  clock.advance(4000);
  stats(7);
  await until(() => subscription.presenceCounts?.connections === 7, 'the second stats entry');
  clock.advance(999);
  await delay(20);
  t.equal(reads(), 1, 'not yet: at most every 5 s since the last read');
  clock.advance(1);
  await until(() => reads() === 2, 'the debounced re-read');
  t.same(subscription.presenceCounts, { connections: 7, users: 7, anonymous: 0 }, 'counts follow stats entries at once');
});

t.test('a chunked listing reaches presence() and the list', async (t) => {
  const { broker, client } = await setup(t);
  const subscription = client.subscribe(topic, () => {}, { presence: 'connection' });
  const connection = await broker.connection(0);
  const request = await subscribed(connection);
  connection.send({ op: 'subscribed', id: request.id, pattern: topic });
  const first = await connection.next('presence');
  const users = Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`user${index}`, { [`c_${index}`]: { name: `User ${index}` } }]));
  const body = new TextEncoder().encode(JSON.stringify({ users, anonymous: {} }));
  const { data: _data, ...header } = snapshot(first.id, 5, users);
  const chunkBytes = 64;
  for (let index = 0; index * chunkBytes < body.length; index++) {
    const last = (index + 1) * chunkBytes >= body.length;
    connection.send({
      op: 'chunk',
      transfer: 1,
      index,
      last,
      ...(index === 0 ? { total: body.length, encoding: 'json' as const, header } : {}),
      data: body.subarray(index * chunkBytes, (index + 1) * chunkBytes),
    } as never);
  }
  await until(() => subscription.members.size === 20, 'the list from 20 chunks');
  const asked = subscription.presence();
  const second = await connection.next('presence');
  connection.send(snapshot(second.id, 6, { solo: { c_s: { name: 'Solo' } } }));
  t.same(await asked, { topic, epoch: 'e1', offset: 3, seq: 6, counts: { connections: 1, users: 1, anonymous: 0 }, truncated: false, users: { solo: { c_s: { name: 'Solo' } } }, anonymous: {} });
  t.same(Object.keys(plain(subscription)), ['solo'], 'a newer snapshot the app asked for replaces the list too');
  const stats = subscription.presenceStats();
  const statsRequest = await connection.next('presence_stats');
  connection.send({ op: 'presence_stats', id: statsRequest.id, topic, epoch: 'e1', offset: 3, seq: 6, connections: 1, users: 1, anonymous: 0 });
  t.same(await stats, { topic, epoch: 'e1', offset: 3, seq: 6, connections: 1, users: 1, anonymous: 0 });
  const refused = subscription.presence();
  const third = await connection.next('presence');
  connection.send({ op: 'error', id: third.id, code: 'rate_limited', message: 'slow down', retryAfterMs: 100 });
  await t.rejects(refused, { code: 'rate_limited', retryAfterMs: 100 });
});

t.test('without the presence capability nothing of §13 is sent: the subscribe goes plain, reads reject unsupported', async (t) => {
  const { broker, client } = await setup(t);
  const errors = new Inbox<SwitchboardError>();
  const messages = new Inbox<unknown>();
  const subscription = client.subscribe(topic, (message) => messages.push(message.data), { presence: 'user', onError: errors.push });
  const connection = await broker.connection(0);
  const request = await subscribed(connection, {});
  t.same(request, { op: 'subscribe', id: request.id, pattern: topic }, 'no presence field');
  connection.send({ op: 'subscribed', id: request.id, pattern: topic });
  await subscription;
  await errors.atLeast(1);
  t.match(errors.items, [{ code: 'unsupported' }], 'the subscription goes on; who asked for presence learns why there is none');
  connection.send({ op: 'message', topic, priority: 'normal', offset: 1, epoch: 'e', data: { text: 'still delivered' } });
  await messages.atLeast(1);
  await t.rejects(subscription.presence(), { code: 'unsupported' });
  await t.rejects(subscription.presenceStats(), { code: 'unsupported' });
  t.notOk(connection.received.some((message) => message.op === 'presence' || message.op === 'presence_stats'));
  t.throws(() => client.subscribe('chat.*', () => {}, { presence: 'user' }), { code: 'invalid_topic' }, 'a pattern cannot have presence');
});
