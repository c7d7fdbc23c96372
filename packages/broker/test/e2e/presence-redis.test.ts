import type { JoinMessage, LeaveMessage, PresenceMessage, PresenceStatsMessage, ServerMessage, SubscribedMessage } from '@switchboard/protocol';
import t, { type Test } from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { eventually, eventuallyAsync } from '../helpers/start-broker.js';
import { type BrokerProcess, startBrokerProcess, waitListening } from '../helpers/topology-processes.js';

/**
 * Presence across two broker processes on a private Redis (docs/design/presence.md §6, "Must show"): members
 * of both nodes listed from either, over WebSocket and HTTP; a node killed with -9 whose members leave
 * `expired`, seen from the other node within the liveness bound; a node stopped with SIGTERM whose members
 * leave `disconnected` before it exits; a node paused past its TTL that re-asserts its members (reconcile);
 * an offline subscriber recovering joins and leaves with `since.seq` on the other node; and joins and
 * leaves from both nodes in order with publications, as Redis stored them.
 */

const secret = 'a-test-secret-of-at-least-32-bytes!!';
const nodeTtlMs = 3000;
/** The design's bound (TTL + TTL/3 + 1 s) plus slack for a loaded machine: a poll's limit, not a timing claim. */
const sweptWithinMs = nodeTtlMs + nodeTtlMs / 3 + 1000 + 10_000;

type PresenceEvent = JoinMessage | LeaveMessage | PresenceStatsMessage;
type StreamEvent = PresenceEvent | Extract<ServerMessage, { op: 'message' }>;

// Six tests, each starting two broker processes from source (seconds each on a loaded machine), one waiting out a TTL.
t.setTimeout(480_000);

let redis: RedisServer;
t.before(async () => {
  redis = await startRedisServer();
});
t.teardown(() => redis.destroy());

async function node(t: Test, name: string): Promise<BrokerProcess> {
  const broker = await startBrokerProcess(t, name, redis.url, undefined, {
    JWT_SECRET: secret,
    ALLOW_ANONYMOUS: 'true',
    PRESENCE: 'chat.>',
    PRESENCE_NODE_TTL: String(nodeTtlMs),
    SHUTDOWN_DRAIN: '5s',
    SHUTDOWN_SPREAD: '0',
  });
  await waitListening(broker);
  return broker;
}

async function nodes(t: Test): Promise<[BrokerProcess, BrokerProcess]> {
  return Promise.all([node(t, 'node-a'), node(t, 'node-b')]);
}

const wsUrl = (broker: BrokerProcess): string => `ws://127.0.0.1:${broker.port}/`;

async function open(t: Test, broker: BrokerProcess, user?: string, info?: unknown): Promise<Peer> {
  const claims = { sub: user, subscribe: ['>'], publish: ['>'], ...(info === undefined ? {} : { info }) };
  const headers = user === undefined ? {} : { Authorization: `Bearer ${await signJwt(claims, secret)}` };
  const peer = await Peer.open(wsUrl(broker), { headers });
  t.teardown(() => peer.close());
  return peer;
}

function isPresenceEvent(message: ServerMessage): message is PresenceEvent {
  return message.op === 'join' || message.op === 'leave' || (message.op === 'presence_stats' && !('id' in message && message.id !== undefined));
}

function events(peer: Peer, topic: string): PresenceEvent[] {
  return peer.messages.filter((message): message is PresenceEvent => isPresenceEvent(message) && message.topic === topic);
}

function stream(peer: Peer, topic: string, since = 0): StreamEvent[] {
  return peer.messages
    .slice(since)
    .filter((message): message is StreamEvent => (isPresenceEvent(message) || message.op === 'message') && message.topic === topic);
}

function describe(event: StreamEvent, names: ReadonlyMap<string, string>): string {
  switch (event.op) {
    case 'message':
      return `message ${JSON.stringify(event.data)}`;
    case 'join':
      return `join ${names.get(event.connection) ?? event.connection}`;
    case 'leave':
      return `leave ${names.get(event.connection) ?? event.connection} ${event.reason}`;
    case 'presence_stats':
      return `stats ${event.connections}`;
  }
}

function namesOf(peers: Record<string, Peer>): Map<string, string> {
  return new Map(Object.entries(peers).map(([name, peer]) => [peer.welcome.connectionId, name]));
}

function leaves(peer: Peer, topic: string, reason: string): Set<string> {
  return new Set(events(peer, topic).flatMap((event) => (event.op === 'leave' && event.reason === reason ? [event.connection] : [])));
}

async function stats(peer: Peer, topic: string): Promise<PresenceStatsMessage> {
  return (await peer.request({ op: 'presence_stats', id: peer.id(), topic })) as PresenceStatsMessage;
}

async function httpPresence(broker: BrokerProcess, topic: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = await signJwt({ sub: 'backend', subscribe: ['chat.>'] }, secret);
  const response = await fetch(`http://127.0.0.1:${broker.port}/presence?topic=${topic}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

t.test('members on both nodes are listed from either, over WebSocket and GET /presence alike', async (t) => {
  const [a, b] = await nodes(t);
  const topic = 'chat.both';
  const alice1 = await open(t, a, 'alice', { name: 'Alice' });
  const anonymous = await open(t, a);
  const alice2 = await open(t, b, 'alice', { name: 'Alice' });
  const bob = await open(t, b, 'bob');
  for (const peer of [alice1, anonymous, alice2, bob]) t.match(await peer.subscribe(topic), { op: 'subscribed' });

  const expected = {
    users: {
      alice: { [alice1.welcome.connectionId]: { name: 'Alice' }, [alice2.welcome.connectionId]: { name: 'Alice' } },
      bob: { [bob.welcome.connectionId]: null },
    },
    anonymous: { [anonymous.welcome.connectionId]: null },
  };
  const counts = { connections: 4, users: 2, anonymous: 1 };
  const fromA = (await alice1.request({ op: 'presence', id: alice1.id(), topic })) as PresenceMessage;
  const fromB = (await bob.request({ op: 'presence', id: bob.id(), topic })) as PresenceMessage;
  for (const [name, answer] of [['A', fromA], ['B', fromB]] as const) {
    t.match(answer, { op: 'presence', topic, stats: counts, truncated: false }, `WebSocket on ${name}: the counts`);
    t.same(answer.data, expected, `WebSocket on ${name}: members of both nodes, grouped by user`);
  }
  t.same({ epoch: fromB.epoch, offset: fromB.offset, seq: fromB.seq }, { epoch: fromA.epoch, offset: fromA.offset, seq: fromA.seq }, 'one position');
  for (const [name, broker] of [['A', a], ['B', b]] as const) {
    const http = await httpPresence(broker, topic);
    t.same(
      http,
      { status: 200, body: { topic, epoch: fromA.epoch, offset: fromA.offset, seq: fromA.seq, stats: counts, truncated: false, ...expected } },
      `GET /presence on ${name}: the same members and stats`,
    );
  }
  t.match(await stats(alice2, topic), counts, 'presence_stats agrees');
});

t.test('kill -9: every member of the dead node leaves `expired`, seen on the other node within the bound; stats drop', async (t) => {
  const [a, b] = await nodes(t);
  const topic = 'chat.kill';
  const watcher = await open(t, a, 'watcher');
  t.match(await watcher.subscribe(topic, { presence: 'connection' }), { op: 'subscribed' });
  const onB = [await open(t, b, 'bob'), await open(t, b, 'carol'), await open(t, b, 'carol'), await open(t, b)];
  for (const peer of onB) await peer.subscribe(topic);
  await eventually(() => events(watcher, topic).filter((event) => event.op === 'join').length === 5, 20_000, 'five joins');
  t.match(await stats(watcher, topic), { connections: 5, users: 3, anonymous: 1 });

  b.child.kill('SIGKILL');
  await b.exited;
  const ids = onB.map((peer) => peer.welcome.connectionId);
  await eventually(() => ids.every((id) => leaves(watcher, topic, 'expired').has(id)), sweptWithinMs, 'every B member left expired');
  t.pass(`${ids.length} expired leaves within ${sweptWithinMs} ms of the kill (TTL ${nodeTtlMs} ms)`);
  const carolLeaves = events(watcher, topic).filter((event): event is LeaveMessage => event.op === 'leave' && event.user === 'carol');
  t.same(
    carolLeaves.map((event) => event.last),
    [false, true],
    'a user with two connections on the dead node: the second leave is the last',
  );
  t.match(await stats(watcher, topic), { connections: 1, users: 1, anonymous: 0 }, 'only the watcher is left');
  const listed = await httpPresence(a, topic);
  t.same(listed.body.users, { watcher: { [watcher.welcome.connectionId]: null } }, 'no ghost listed');
});

t.test('SIGTERM: the node\'s `disconnected` leaves arrive before it exits', async (t) => {
  const [a, b] = await nodes(t);
  const topic = 'chat.term';
  const watcher = await open(t, a, 'watcher');
  await watcher.subscribe(topic, { presence: 'connection' });
  const onB = [await open(t, b, 'bob'), await open(t, b, 'carol'), await open(t, b)];
  for (const peer of onB) await peer.subscribe(topic);
  await eventually(() => events(watcher, topic).filter((event) => event.op === 'join').length === 4, 20_000, 'four joins');

  const ids = onB.map((peer) => peer.welcome.connectionId);
  let seenAtExit: Set<string> | undefined;
  const exited = b.exited.then(() => {
    seenAtExit = leaves(watcher, topic, 'disconnected');
  });
  b.child.kill('SIGTERM');
  await exited;
  t.equal(b.child.exitCode, 0, 'a clean exit');
  t.ok(
    ids.every((id) => seenAtExit?.has(id)),
    'every B member\'s leave had reached the watcher on A when B exited',
  );
  t.same(leaves(watcher, topic, 'expired'), new Set(), 'nothing was left for a sweep');
  t.match(await stats(watcher, topic), { connections: 1, users: 1, anonymous: 0 });
  t.match(b.output(), /presence members removed/, 'B unregistered before closing its engine');
});

t.test('a node paused past its TTL is swept, then re-asserts its members (reconcile)', async (t) => {
  const [a, b] = await nodes(t);
  const topic = 'chat.pause';
  const watcher = await open(t, a, 'watcher');
  await watcher.subscribe(topic, { presence: 'connection' });
  const bob = await open(t, b, 'bob');
  await bob.subscribe(topic);
  await eventually(() => events(watcher, topic).some((event) => event.op === 'join' && event.user === 'bob'), 20_000, 'bob joined');

  b.child.kill('SIGSTOP');
  t.teardown(() => {
    if (b.child.exitCode === null) b.child.kill('SIGCONT');
  });
  await eventually(() => leaves(watcher, topic, 'expired').has(bob.welcome.connectionId), sweptWithinMs, 'bob swept');
  t.match(await stats(watcher, topic), { connections: 1 }, 'A sees B\'s member gone while B is frozen');
  const rejoinsBefore = events(watcher, topic).filter((event) => event.op === 'join' && event.user === 'bob').length;
  b.child.kill('SIGCONT');
  await eventually(
    () => events(watcher, topic).filter((event) => event.op === 'join' && event.user === 'bob').length > rejoinsBefore,
    20_000,
    'bob joined again once B found its liveness lapsed',
  );
  t.match(await stats(watcher, topic), { connections: 2, users: 2 });
  await eventuallyAsync(async () => {
    const listed = await httpPresence(a, topic);
    return JSON.stringify(listed.body.users).includes(bob.welcome.connectionId);
  }, 'bob listed on A again');
  t.match(b.output(), /reconciling/, 'B said why');
});

t.test('an offline subscriber recovers on the other node the joins and leaves of both nodes with since.seq', async (t) => {
  const [a, b] = await nodes(t);
  const topic = 'chat.recover';
  const publisherA = await open(t, a, 'publisher');
  const publisherB = await open(t, b, 'publisher');
  const first = await open(t, a, 'watcher');
  await first.subscribe(topic, { presence: 'connection' });
  await publisherA.publish(topic, 'before');
  await eventually(() => events(first, topic).length >= 1 && first.deliveries.length >= 1, 20_000, 'own join and a message');
  const own = events(first, topic)[0] as PresenceEvent;
  const before = first.deliveries[0];
  if (before === undefined) throw new Error('nothing delivered');
  const since = { [topic]: { offset: before.offset, epoch: before.epoch, seq: own.seq } };
  await first.close();

  const bob = await open(t, b, 'bob');
  const eve = await open(t, a, 'eve');
  await bob.subscribe(topic);
  await publisherB.publish(topic, 'missed');
  await eve.subscribe(topic);
  await bob.request({ op: 'unsubscribe', id: bob.id(), pattern: topic });
  await eve.close();
  // The closed connection's leave is written after its socket ends: wait for it, so it is history, not live.
  await eventuallyAsync(async () => (await stats(publisherB, topic)).connections === 0, 'every member gone');

  const again = await open(t, b, 'watcher');
  const answer = (await again.subscribe(topic, { presence: 'connection', since })) as SubscribedMessage;
  t.match(answer.recovery?.[topic], { status: 'recovered', presence: { status: 'recovered' } });
  const names = namesOf({ first, again, bob, eve });
  const expected = [
    'leave first disconnected',
    'join bob',
    'message "missed"',
    'join eve',
    'leave bob left',
    'leave eve disconnected',
    'join again',
  ];
  await eventually(() => stream(again, topic).length >= expected.length, 20_000, `${expected.length} items`);
  t.same(
    stream(again, topic).map((event) => describe(event, names)),
    expected,
    'what it missed, in order, then its own join',
  );
});

t.test('joins and leaves from both nodes are in order with publications, as Redis stored them', async (t) => {
  const [a, b] = await nodes(t);
  const topic = 'chat.order';
  const watchA = await open(t, a, 'watcher');
  const watchB = await open(t, b, 'watcher');
  await watchA.subscribe(topic, { presence: 'connection' });
  await watchB.subscribe(topic, { presence: 'connection' });
  await eventually(() => events(watchA, topic).length === 2 && events(watchB, topic).length === 1, 20_000, 'the watchers\' own joins');
  const markA = watchA.messages.length;
  const markB = watchB.messages.length;
  const pubA = await open(t, a, 'publisher');
  const pubB = await open(t, b, 'publisher');
  const bob = await open(t, a, 'bob');
  const eve = await open(t, b, 'eve');
  const names = namesOf({ watchA, watchB, bob, eve });

  await pubA.publish(topic, 1);
  await bob.subscribe(topic);
  await pubB.publish(topic, 2);
  await eve.subscribe(topic);
  await pubA.publish(topic, 3);
  await bob.request({ op: 'unsubscribe', id: bob.id(), pattern: topic });
  await pubB.publish(topic, 4);
  await eve.close();
  // A closed connection's leave is written after its socket ends: wait for it before the last publication.
  await eventually(() => leaves(watchA, topic, 'disconnected').has(eve.welcome.connectionId), 20_000, 'eve\'s leave');
  await pubA.publish(topic, 5);

  const expected = ['message 1', 'join bob', 'message 2', 'join eve', 'message 3', 'leave bob left', 'message 4', 'leave eve disconnected', 'message 5'];
  await eventually(() => stream(watchA, topic, markA).length >= expected.length && stream(watchB, topic, markB).length >= expected.length, 20_000, 'both watchers');
  const seenA = stream(watchA, topic, markA);
  t.same(seenA.map((event) => describe(event, names)), expected, 'on node A');
  t.same(stream(watchB, topic, markB).map((event) => describe(event, names)), expected, 'on node B: the same order');

  // Redis's own record: each entry at the seq and anchor offset the watchers got.
  const stored = (await redis.cli('XRANGE', `sb:e:${topic}`, '-', '+')).split('\n');
  for (const event of seenA) {
    if (event.op === 'message') continue;
    const at = stored.indexOf(`${event.seq}-0`);
    t.ok(at >= 0, `entry ${event.seq} is stored`);
    t.equal(stored[at + 2], String(event.offset), `entry ${event.seq} anchored at offset ${event.offset}`);
    const previous = seenA[seenA.indexOf(event) - 1];
    t.equal(event.offset, previous?.offset, `${event.op} ${event.seq} sits after the publication before it`);
  }
});
