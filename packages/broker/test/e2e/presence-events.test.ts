import type { JoinMessage, LeaveMessage, PresenceGapMessage, PresenceStatsMessage, ServerMessage, SubscribedMessage } from '@switchboard/protocol';
import t, { type Test } from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import type { Broker } from '../../src/broker.js';
import type { ConfigInput } from '../../src/config/config.js';
import { MemoryCluster } from '../../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { type TestBroker, eventually, startBroker } from '../helpers/start-broker.js';

/**
 * Join and leave events on one node (protocol.md §13.3, §13.4; docs/design/presence.md step 3), on the memory
 * engine and on the Redis engine: both levels, in order with publications, recovered with `since.seq`, trimmed
 * presence history, the event cap's coalesced stats, a slow consumer's `presence_gap`; and, on two memory
 * nodes, a dead node's `expired` leaves.
 */

interface Teardown {
  teardown(fn: () => unknown): void;
}

type PresenceEvent = JoinMessage | LeaveMessage | PresenceStatsMessage;
/** What a subscriber sees of a topic, in arrival order: messages and presence entries. */
type StreamEvent = PresenceEvent | Extract<ServerMessage, { op: 'message' }>;

const secret = 'a-test-secret-of-at-least-32-bytes!!';
const topic = 'chat.room1';

type EngineKind = 'memory' | 'redis';

async function presenceBroker(t: Teardown, kind: EngineKind, overrides: ConfigInput = {}, engine?: MemoryEngine): Promise<TestBroker> {
  const config: ConfigInput = { jwtSecret: secret, allowAnonymous: true, presence: ['chat.>'], ...overrides };
  if (kind === 'memory') return startBroker(t, config, engine === undefined ? {} : { engine });
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  return startBroker(t, { ...config, redisUrl: redis.url });
}

async function open(t: Teardown, broker: TestBroker, user?: string): Promise<Peer> {
  const headers = user === undefined ? {} : { Authorization: `Bearer ${await signJwt({ sub: user, subscribe: ['>'], publish: ['>'] }, secret)}` };
  const peer = await Peer.open(broker.url, { headers });
  t.teardown(() => peer.close());
  return peer;
}

function isPresenceEvent(message: ServerMessage): message is PresenceEvent {
  return message.op === 'join' || message.op === 'leave' || (message.op === 'presence_stats' && !('id' in message && message.id !== undefined));
}

function events(peer: Peer, since = 0): PresenceEvent[] {
  return peer.messages.slice(since).filter((message): message is PresenceEvent => isPresenceEvent(message) && message.topic === topic);
}

function stream(peer: Peer, since = 0): StreamEvent[] {
  return peer.messages
    .slice(since)
    .filter((message): message is StreamEvent => (isPresenceEvent(message) || message.op === 'message') && message.topic === topic);
}

/** A compact, comparable line per event: who, and the first/last flag or leave reason. */
function describe(event: StreamEvent, names: ReadonlyMap<string, string>): string {
  switch (event.op) {
    case 'message':
      return `message ${JSON.stringify(event.data)}`;
    case 'join':
      return `join ${names.get(event.connection) ?? event.connection}${event.first ? ' first' : ''}`;
    case 'leave':
      return `leave ${names.get(event.connection) ?? event.connection}${event.last ? ' last' : ''} ${event.reason}`;
    case 'presence_stats':
      return `stats ${event.connections}`;
  }
}

function namesOf(peers: Record<string, Peer>): Map<string, string> {
  return new Map(Object.entries(peers).map(([name, peer]) => [peer.welcome.connectionId, name]));
}

async function untilEvents(peer: Peer, count: number, since = 0): Promise<PresenceEvent[]> {
  await eventually(() => events(peer, since).length >= count, 20_000, `${count} presence events`);
  return events(peer, since);
}

function unsubscribe(peer: Peer): Promise<ServerMessage> {
  return peer.request({ op: 'unsubscribe', id: peer.id(), pattern: topic });
}

/** The suite, on one engine: the memory engine, or the Redis engine on a private redis-server per broker. */
function suite(t: Test, kind: EngineKind): void {
  t.test('join and leave events: every connection, or a user\'s first in and last out', async (t) => {
    const broker = await presenceBroker(t, kind);
    const perConnection = await open(t, broker, 'carol');
    const perUser = await open(t, broker, 'dave');
    const alice1 = await open(t, broker, 'alice');
    const alice2 = await open(t, broker, 'alice');
    const anonymous = await open(t, broker);
    const names = namesOf({ perConnection, perUser, alice1, alice2, anonymous });

    t.match(await perConnection.subscribe(topic, { presence: 'connection' }), { op: 'subscribed' });
    t.match(await perUser.subscribe(topic, { presence: 'user' }), { op: 'subscribed' });
    for (const peer of [alice1, alice2, anonymous]) await peer.subscribe(topic);
    await unsubscribe(alice1);
    await alice2.close();
    await anonymous.close();

    const all = [
      'join perConnection first',
      'join perUser first',
      'join alice1 first',
      'join alice2',
      'join anonymous first',
      'leave alice1 left',
      'leave alice2 last disconnected',
      'leave anonymous last disconnected',
    ];
    t.same((await untilEvents(perConnection, all.length)).map((event) => describe(event, names)), all, 'connection level: every entry');
    const firstAndLast = ['join perUser first', 'join alice1 first', 'join anonymous first', 'leave alice2 last disconnected', 'leave anonymous last disconnected'];
    t.same((await untilEvents(perUser, firstAndLast.length)).map((event) => describe(event, names)), firstAndLast, 'user level: first in and last out');

    const seen = events(perConnection);
    t.ok(seen.every((event, index) => index === 0 || event.seq === (seen[index - 1] as PresenceEvent).seq + 1), 'seq counts every entry, one by one');
    t.ok(seen.every((event) => event.epoch === seen[0]?.epoch), 'one epoch');
    const join = seen.find((event): event is JoinMessage => event.op === 'join' && event.connection === alice1.welcome.connectionId);
    t.match(join, { user: 'alice', first: true, offset: 0 }, 'a join carries the user and the topic\'s offset');
    const anonymousJoin = seen.find((event): event is JoinMessage => event.op === 'join' && event.connection === anonymous.welcome.connectionId);
    t.notOk(anonymousJoin !== undefined && 'user' in anonymousJoin, 'an anonymous member has no user');
    t.notOk(events(alice1).length > 0 || events(anonymous).length > 0, 'subscriptions without `presence` get no events');
  });

  t.test('events on a topic outside PRESENCE are refused; a node without presence refuses them too', async (t) => {
    const broker = await presenceBroker(t, kind);
    const peer = await open(t, broker, 'alice');
    t.match(await peer.subscribe('news.today', { presence: 'user' }), { op: 'error', code: 'presence_disabled' });
    t.match(await peer.subscribe('chat.*', { presence: 'connection' }), { op: 'error', code: 'invalid_topic' });
    const off = await startBroker(t, {});
    const other = await Peer.open(off.url);
    t.teardown(() => other.close());
    t.match(await other.subscribe(topic, { presence: 'user' }), { op: 'error', code: 'presence_disabled' });
  });

  t.test('events are in order with the topic\'s publications, at (offset, seq)', async (t) => {
    const broker = await presenceBroker(t, kind);
    const watcher = await open(t, broker, 'watcher');
    const publisher = await open(t, broker, 'publisher');
    const bob = await open(t, broker, 'bob');
    const eve = await open(t, broker, 'eve');
    const names = namesOf({ watcher, bob, eve });
    await watcher.subscribe(topic, { presence: 'connection' });
    // Its own join may come after `subscribed` (on Redis the join is written after the subscription is in
    // place): the stream under test starts after it.
    await untilEvents(watcher, 1);
    const mark = watcher.messages.length;
    await publisher.publish(topic, 1);
    await bob.subscribe(topic);
    await publisher.publish(topic, 2);
    await eve.subscribe(topic);
    await publisher.publish(topic, 3);
    await unsubscribe(bob);
    await publisher.publish(topic, 4);
    await eventually(() => stream(watcher, mark).length >= 7, 20_000, 'seven items');
    const seen = stream(watcher, mark);
    t.same(
      seen.map((event) => describe(event, names)),
      ['message 1', 'join bob first', 'message 2', 'join eve first', 'message 3', 'leave bob last left', 'message 4'],
    );
    // Each entry sits after the publication before it: its offset is that publication's.
    for (const [index, event] of seen.entries()) {
      if (event.op === 'message') continue;
      t.equal(event.offset, (seen[index - 1] as StreamEvent).offset, `${event.op} at the offset of the message before it`);
    }
  });

  t.test('an offline subscriber recovers the joins and leaves it missed with since.seq, in order, at both levels', async (t) => {
    const broker = await presenceBroker(t, kind);
    const publisher = await open(t, broker, 'publisher');
    const first = await open(t, broker, 'watcher');
    await first.subscribe(topic, { presence: 'connection' });
    await publisher.publish(topic, 'before');
    const [own] = await untilEvents(first, 1);
    const [before] = await first.waitForDeliveries(1);
    if (own === undefined || before === undefined) throw new Error('nothing seen');
    const since = { [topic]: { offset: before.offset, epoch: before.epoch, seq: own.seq } };
    await first.close();

    const bob = await open(t, broker, 'bob');
    const eve1 = await open(t, broker, 'eve');
    const eve2 = await open(t, broker, 'eve');
    await bob.subscribe(topic);
    await publisher.publish(topic, 'missed');
    await eve1.subscribe(topic);
    await eve2.subscribe(topic);
    await unsubscribe(bob);
    await eve1.close();

    const again = await open(t, broker, 'watcher');
    const users = await open(t, broker, 'watcher');
    const names = namesOf({ first, again, users, bob, eve1, eve2 });
    const answer = (await again.subscribe(topic, { presence: 'connection', since })) as SubscribedMessage;
    const recovery = answer.recovery?.[topic];
    t.match(recovery, { status: 'recovered', epoch: before.epoch, offset: before.offset + 1, presence: { status: 'recovered' } });
    const expected = [
      'leave first last disconnected',
      'join bob first',
      'message "missed"',
      'join eve1 first',
      'join eve2',
      'leave bob last left',
      'leave eve1 disconnected',
      'join again first',
    ];
    await eventually(() => stream(again).length >= expected.length, 20_000, 'the replay');
    t.same(stream(again).map((event) => describe(event, names)), expected, 'the replay, merged in order, then nothing twice');
    const last = events(again).at(-1);
    t.equal(recovery?.presence?.seq, last?.seq, 'presence recovered up to the seq of the last entry');

    // The user level replays the same stretch, filtered: first in, last out.
    // `users` is watcher's second connection: its own join is not `first`, so the user level does not get it.
    const filtered = ['leave first last disconnected', 'join bob first', 'message "missed"', 'join eve1 first', 'leave bob last left', 'join again first'];
    const usersAnswer = (await users.subscribe(topic, { presence: 'user', since })) as SubscribedMessage;
    t.match(usersAnswer.recovery?.[topic], { status: 'recovered', presence: { status: 'recovered' } });
    await eventually(() => stream(users).length >= filtered.length, 20_000, 'the filtered replay');
    t.same(stream(users).map((event) => describe(event, names)), filtered);
  });

  t.test('presence history trimmed: presence recovery fails expired while messages recover', async (t) => {
    const broker = await presenceBroker(t, kind, { presenceHistorySize: 2 });
    const publisher = await open(t, broker, 'publisher');
    const watcher = await open(t, broker, 'watcher');
    await watcher.subscribe(topic, { presence: 'connection' });
    await publisher.publish(topic, 'before');
    const [own] = await untilEvents(watcher, 1);
    const [before] = await watcher.waitForDeliveries(1);
    if (own === undefined || before === undefined) throw new Error('nothing seen');
    await watcher.close();
    for (const name of ['a', 'b', 'c']) await (await open(t, broker, name)).subscribe(topic);
    await publisher.publish(topic, 'missed');

    const again = await open(t, broker, 'watcher');
    const answer = (await again.subscribe(topic, { presence: 'connection', since: { [topic]: { offset: before.offset, epoch: before.epoch, seq: own.seq } } })) as SubscribedMessage;
    const stats = (await again.request({ op: 'presence_stats', id: again.id(), topic })) as PresenceStatsMessage;
    t.match(answer.recovery?.[topic], { status: 'recovered', offset: before.offset + 1, presence: { status: 'failed', reason: 'expired', seq: stats.seq } });
    await again.waitForDeliveries(1);
    t.same(
      again.deliveries.map((delivery) => delivery.data),
      ['missed'],
      'the missed message is replayed',
    );
    t.same(events(again), [], 'no presence entry is replayed: the client re-reads the members');
    t.equal(stats.connections, 4, 'the members are all there to re-read');
  });

  t.test('over PRESENCE_EVENT_RATE: changes are coalesced into stats entries; entries and coalesced add up', async (t) => {
    const broker = await presenceBroker(t, kind, { presenceEventRate: 2 });
    const watcher = await open(t, broker, 'watcher');
    await watcher.subscribe(topic, { presence: 'connection' });
    // Its own join is written before `subscribed`, but on Redis it arrives through pub/sub and may follow it:
    // count from after it, or it is taken for one of the changes below.
    await untilEvents(watcher, 1);
    const mark = watcher.messages.length;
    const peers = await Promise.all(Array.from({ length: 8 }, (_, index) => open(t, broker, `user${index}`)));
    for (const peer of peers) await peer.subscribe(topic);
    for (const peer of peers.slice(0, 3)) await unsubscribe(peer);
    const changes = 11;
    const accounted = () => events(watcher, mark).reduce((sum, event) => sum + (event.op === 'presence_stats' ? (event.coalesced ?? 0) : 1), 0);
    await eventually(() => accounted() >= changes, 20_000, 'every change an entry or counted in a stats entry');
    const seen = events(watcher, mark);
    t.equal(accounted(), changes, 'entries + coalesced = changes');
    const stats = seen.filter((event): event is PresenceStatsMessage => event.op === 'presence_stats');
    t.ok(stats.length > 0, 'at least one coalesced stats entry');
    t.ok(stats.every((entry) => (entry.coalesced ?? 0) > 0), 'each says how many changes it stands for');
    t.ok(stats.every((entry) => entry.connections >= 1 && entry.connections <= 9 && entry.users === entry.connections), 'with the counts as of each');
    t.match(await watcher.request({ op: 'presence_stats', id: watcher.id(), topic }), { connections: 6, users: 6 }, 'every change applied');
    t.ok(seen.every((event, index) => index === 0 || event.seq === (seen[index - 1] as PresenceEvent).seq + 1), 'stats entries have their own seq');
    t.ok((await metric(broker.broker, 'switchboard_presence_coalesced_total')) >= stats.reduce((sum, entry) => sum + (entry.coalesced ?? 0), 0), 'presence_coalesced_total');
    t.ok((await metric(broker.broker, 'switchboard_presence_events_total', 'kind="stats"')) >= stats.length, 'presence_events_total{kind="stats"}');
    t.equal(await metric(broker.broker, 'switchboard_presence_members'), 6, 'presence_members');
  });

  t.test('a slow consumer whose queue drops presence entries gets one presence_gap', async (t) => {
    const KiB = 1024;
    const broker = await presenceBroker(t, kind, { maxQueuedBytes: 64 * KiB, maxMessageBytes: 16 * KiB, chunkBytes: 16 * KiB, slowConsumerPolicy: 'drop-oldest' });
    const slow = await open(t, broker, 'slow');
    const publisher = await open(t, broker, 'publisher');
    await slow.subscribe(topic, { presence: 'connection' });
    const session = broker.broker.session(slow.welcome.connectionId);
    if (session === undefined) throw new Error('no session');
    slow.pause();
    const payload = 'x'.repeat(8 * KiB);
    // Until the socket and the kernel are full and deliveries wait in the queue.
    for (let sent = 0; sent < 5000 && session.queue.queuedBytes === 0; sent++) await publisher.publish(topic, payload);
    t.ok(session.queue.queuedBytes > 0, 'deliveries wait in the send queue');
    const joiners = await Promise.all(Array.from({ length: 3 }, (_, index) => open(t, broker, `joiner${index}`)));
    for (const peer of joiners) await peer.subscribe(topic);
    const droppedPresence = () => session.queue.peekGaps().some((gap) => gap.seq !== undefined);
    for (let sent = 0; sent < 200 && !droppedPresence(); sent++) await publisher.publish(topic, payload);
    t.ok(droppedPresence(), 'queued presence entries were dropped under the cap');
    slow.resume();
    const gap = await slow.waitFor<PresenceGapMessage>((message) => message.op === 'presence_gap');
    const joins = events(slow).filter((event) => event.op === 'join' && event.connection !== slow.welcome.connectionId);
    t.match(gap, { topic, reason: 'slow_consumer' });
    t.ok(joins.every((join) => join.seq <= gap.seq), 'the notice covers every dropped entry');
    t.ok(joins.length < 3, `some joins never arrived (${joins.length} of 3)`);
    t.equal(slow.messages.filter((message) => message.op === 'presence_gap').length, 1, 'one notice for the topic');
    t.equal(session.state, 'open', 'drop-oldest keeps the connection');
  });

  if (kind === 'memory') t.test('a node that dies: its members leave with expired entries, seen from another node', async (t) => {
    const cluster = new MemoryCluster({ presenceNodeTtlMs: 300 });
    const a = await presenceBroker(t, kind, { nodeName: 'a' }, new MemoryEngine({ cluster, nodeId: 'a' }));
    const b = await presenceBroker(t, kind, { nodeName: 'b' }, new MemoryEngine({ cluster, nodeId: 'b' }));
    const watcher = await open(t, a, 'watcher');
    const member = await open(t, b, 'bob');
    await watcher.subscribe(topic, { presence: 'connection' });
    await member.subscribe(topic);
    await untilEvents(watcher, 2);
    cluster.crash('b');
    const [leave] = (await untilEvents(watcher, 3)).slice(2);
    t.match(leave, { op: 'leave', connection: member.welcome.connectionId, user: 'bob', last: true, reason: 'expired' });
  });

  if (kind === 'memory') t.test('a leave the engine could not take in an outage is written once it resumes, with its reason', async (t) => {
    const cluster = new MemoryCluster();
    const broker = await presenceBroker(t, kind, {}, new MemoryEngine({ cluster, nodeId: 'n1' }));
    const watcher = await open(t, broker, 'watcher');
    const member = await open(t, broker, 'bob');
    await watcher.subscribe(topic, { presence: 'connection' });
    await member.subscribe(topic);
    await untilEvents(watcher, 2);
    cluster.interrupt();
    await member.close();
    // The session's leave fails while the engine is down; the node remembers it owes one.
    await eventually(() => broker.broker.hub.presence?.memberCount === 1, 20_000, 'the member gone locally');
    cluster.resume();
    const [leave] = (await untilEvents(watcher, 3)).slice(2);
    t.match(leave, { op: 'leave', connection: member.welcome.connectionId, user: 'bob', last: true, reason: 'disconnected' });
    t.same(cluster.ownMembers('n1', topic), [watcher.welcome.connectionId], 'no ghost left');
  });
}

for (const kind of ['memory', 'redis'] as const) t.test(`on the ${kind} engine`, async (t) => suite(t, kind));

/** A metric's value from the broker's own Prometheus text. */
async function metric(broker: Broker, name: string, labels = ''): Promise<number> {
  const text = await broker.metrics.metrics();
  const line = text.split('\n').find((candidate) => (candidate.startsWith(`${name}{`) || candidate.startsWith(`${name} `)) && candidate.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
