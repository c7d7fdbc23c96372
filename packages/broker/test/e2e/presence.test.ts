import type { PresenceMessage, PresenceStatsMessage, ServerMessage } from '@switchboard/protocol';
import t from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import type { ConfigInput } from '../../src/config/config.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { type TestBroker, eventuallyAsync, startBroker } from '../helpers/start-broker.js';

/**
 * Presence on one node (protocol.md §13, docs/design/presence.md step 3): members are exact subscribers of
 * `PRESENCE` topics, listed grouped by user over WebSocket and HTTP, with the protocol's refusals.
 */

interface Teardown {
  teardown(fn: () => unknown): void;
}

const secret = 'a-test-secret-of-at-least-32-bytes!!';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function tokenFor(claims: Record<string, unknown>): Promise<string> {
  return signJwt({ subscribe: ['>'], publish: ['>'], ...claims }, secret);
}

async function presenceBroker(t: Teardown, overrides: ConfigInput = {}): Promise<TestBroker> {
  return startBroker(t, { jwtSecret: secret, allowAnonymous: true, presence: ['chat.>'], ...overrides });
}

async function open(t: Teardown, broker: TestBroker, claims?: Record<string, unknown>): Promise<Peer> {
  const peer = await Peer.open(broker.url, claims === undefined ? {} : { headers: bearer(await tokenFor(claims)) });
  t.teardown(() => peer.close());
  return peer;
}

function presence(peer: Peer, topic: string): Promise<ServerMessage> {
  return peer.request({ op: 'presence', id: peer.id(), topic });
}

function presenceStats(peer: Peer, topic: string): Promise<ServerMessage> {
  return peer.request({ op: 'presence_stats', id: peer.id(), topic });
}

async function httpGet(broker: TestBroker, path: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${broker.httpUrl}${path}`, token === undefined ? {} : { headers: bearer(token) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

t.test('welcome announces presence and the user only when served', async (t) => {
  const served = await presenceBroker(t);
  const alice = await open(t, served, { sub: 'alice' });
  t.same(alice.welcome.capabilities, ['presence', 'user_topics', 'server_subscriptions']);
  t.equal(alice.welcome.user, 'alice');
  const anonymous = await open(t, served);
  t.equal(anonymous.welcome.user, undefined, 'an anonymous connection has no user');

  const off = await startBroker(t, {});
  const peer = await open(t, off);
  t.notOk(peer.welcome.capabilities?.includes('presence'), 'no PRESENCE pattern: no presence capability');
  t.match(await presence(peer, 'chat.room1'), { op: 'error', code: 'presence_disabled' });
});

t.test('exact subscribers are members, grouped by user, listed right after subscribed; wildcards are not', async (t) => {
  const broker = await presenceBroker(t);
  const alice1 = await open(t, broker, { sub: 'alice', info: { name: 'Alice' } });
  const alice2 = await open(t, broker, { sub: 'alice', info: { name: 'Alice' } });
  const bob = await open(t, broker, { sub: 'bob' });
  const anonymous = await open(t, broker);
  const monitor = await open(t, broker, { sub: 'monitor' });
  t.match(await monitor.subscribe('chat.>'), { op: 'subscribed' });
  t.match(await monitor.subscribe('chat.*'), { op: 'subscribed' });

  t.match(await alice1.subscribe('chat.room1'), { op: 'subscribed' });
  // Written before `subscribed`: the very next request sees the connection itself.
  t.match(await presence(alice1, 'chat.room1'), { op: 'presence', stats: { connections: 1, users: 1, anonymous: 0 }, truncated: false });
  for (const peer of [alice2, bob, anonymous]) t.match(await peer.subscribe('chat.room1'), { op: 'subscribed' });

  const answer = (await presence(bob, 'chat.room1')) as PresenceMessage;
  t.match(answer, { op: 'presence', topic: 'chat.room1', stats: { connections: 4, users: 2, anonymous: 1 }, truncated: false });
  t.type(answer.epoch, 'string');
  t.ok(answer.seq >= 4, 'the snapshot is at or after the four joins');
  t.same(answer.data, {
    users: {
      alice: { [alice1.welcome.connectionId]: { name: 'Alice' }, [alice2.welcome.connectionId]: { name: 'Alice' } },
      bob: { [bob.welcome.connectionId]: null },
    },
    anonymous: { [anonymous.welcome.connectionId]: null },
  });
  const stats = (await presenceStats(monitor, 'chat.room1')) as PresenceStatsMessage;
  t.match(stats, { op: 'presence_stats', topic: 'chat.room1', connections: 4, users: 2, anonymous: 1, epoch: answer.epoch, seq: answer.seq });
  t.notOk('coalesced' in stats, 'an answer is not a coalesced update');

  // A topic under PRESENCE nobody subscribed to: empty, not an error.
  t.match(await presenceStats(monitor, 'chat.empty'), { op: 'presence_stats', connections: 0, users: 0, anonymous: 0 });
});

t.test('unsubscribe leaves before `unsubscribed`; a closed connection leaves', async (t) => {
  const broker = await presenceBroker(t);
  const alice = await open(t, broker, { sub: 'alice' });
  const bob = await open(t, broker, { sub: 'bob' });
  await alice.subscribe('chat.room1');
  await bob.subscribe('chat.room1');
  t.match(await presenceStats(alice, 'chat.room1'), { connections: 2, users: 2 });

  t.match(await alice.request({ op: 'unsubscribe', id: alice.id(), pattern: 'chat.room1' }), { op: 'unsubscribed' });
  t.match(await presenceStats(bob, 'chat.room1'), { connections: 1, users: 1 }, 'listed no more once unsubscribed');
  t.match(await alice.subscribe('chat.room1'), { op: 'subscribed' }, 'and back');
  t.match(await presenceStats(bob, 'chat.room1'), { connections: 2, users: 2 });

  await alice.close();
  await eventuallyAsync(async () => {
    const stats = (await presenceStats(bob, 'chat.room1')) as PresenceStatsMessage;
    return stats.connections === 1;
  }, 'the closed connection left');
  const listing = (await presence(bob, 'chat.room1')) as PresenceMessage;
  t.same(listing.data, { users: { bob: { [bob.welcome.connectionId]: null } }, anonymous: {} });
});

t.test('refusals: presence_disabled, invalid_topic, forbidden, rate_limited', async (t) => {
  const broker = await presenceBroker(t, { presenceRequestRate: 1 });
  const peer = await open(t, broker, { sub: 'alice', subscribe: ['chat.room1'] });
  t.match(await presence(peer, 'news.today'), { op: 'error', code: 'presence_disabled' }, 'outside PRESENCE');
  t.match(await presence(peer, 'chat.*'), { op: 'error', code: 'invalid_topic' }, 'a pattern is no topic');
  t.match(await presence(peer, 'chat.room2'), { op: 'error', code: 'forbidden' }, 'needs the subscribe grant');
  t.match(await presenceStats(peer, 'chat.room1'), { op: 'presence_stats' }, 'the one request of this second');
  const limited = await presence(peer, 'chat.room1');
  t.match(limited, { op: 'error', code: 'rate_limited' });
  t.ok('retryAfterMs' in limited && typeof limited.retryAfterMs === 'number' && limited.retryAfterMs > 0, 'with retryAfterMs');
  t.match(await peer.request({ op: 'subscribe', id: peer.id(), pattern: 'chat.*', presence: 'user' }), { op: 'error', code: 'invalid_topic' }, 'events on a wildcard');
});

t.test('over PRESENCE_MAX_MEMBERS: counts only, truncated', async (t) => {
  const broker = await presenceBroker(t, { presenceMaxMembers: 2 });
  const peers = await Promise.all([0, 1, 2].map((index) => open(t, broker, { sub: `user${index}` })));
  for (const peer of peers) await peer.subscribe('chat.big');
  const answer = await presence(peers[0] as Peer, 'chat.big');
  t.match(answer, { op: 'presence', stats: { connections: 3, users: 3 }, truncated: true });
  t.notOk('data' in answer, 'no data when truncated');
  const http = await httpGet(broker, '/presence?topic=chat.big', await tokenFor({ sub: 'backend' }));
  t.match(http, { status: 200, body: { truncated: true, stats: { connections: 3 } } });
  t.notOk('users' in http.body, 'nor over HTTP');
});

t.test('a listing over chunkBytes travels as json chunks at low priority, whole once reassembled', async (t) => {
  const broker = await presenceBroker(t, { chunkBytes: 512, maxMessageBytes: 8192 });
  const info = { name: 'x'.repeat(300) };
  const peers = await Promise.all([0, 1, 2, 3].map((index) => open(t, broker, { sub: `user${index}`, info })));
  for (const peer of peers) await peer.subscribe('chat.room1');
  const reader = peers[0] as Peer;
  const answer = (await presence(reader, 'chat.room1')) as PresenceMessage;
  t.match(answer, { op: 'presence', stats: { connections: 4 }, truncated: false });
  t.same(answer.data, {
    users: Object.fromEntries(peers.map((peer, index) => [`user${index}`, { [peer.welcome.connectionId]: info }])),
    anonymous: {},
  });
  const chunks = reader.messages.filter((message) => message.op === 'chunk');
  t.ok(chunks.length >= 3, `chunked (${chunks.length} chunks)`);
  t.match(chunks[0], { index: 0, encoding: 'json', header: { op: 'presence', id: answer.id, truncated: false } });
  t.notOk(chunks[0] !== undefined && 'header' in chunks[0] && chunks[0].header !== undefined && 'data' in chunks[0].header, 'the header carries no data');
});

t.test('info over PRESENCE_MAX_INFO_BYTES refuses the handshake: 401 for a token, 403 for a hook', async (t) => {
  const broker = await presenceBroker(t, { presenceMaxInfoBytes: 64 });
  const large = await tokenFor({ sub: 'alice', info: { bio: 'y'.repeat(100) } });
  t.match(await rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1', ...bearer(large) }), { status: 401, body: { code: 'invalid_token', message: /PRESENCE_MAX_INFO_BYTES/ } });
  const fits = await open(t, broker, { sub: 'alice', info: { bio: 'short' } });
  t.equal(fits.welcome.user, 'alice', 'info within the limit is accepted');

  const hooked = await startBroker(
    t,
    { presence: ['chat.>'], presenceMaxInfoBytes: 64 },
    { authenticate: () => ({ ok: true, identity: { subject: 'carol', grants: { publish: [], subscribe: ['>'] }, info: { bio: 'z'.repeat(100) } } }) },
  );
  t.match(await rawUpgrade(hooked.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1' }), { status: 403, body: { code: 'forbidden' } });
});

t.test('GET /presence and /presence/stats: same answers as the WebSocket, same auth as POST /publish', async (t) => {
  const broker = await presenceBroker(t);
  const alice = await open(t, broker, { sub: 'alice', info: { name: 'Alice' } });
  const anonymous = await open(t, broker);
  await alice.subscribe('chat.room1');
  await anonymous.subscribe('chat.room1');
  const token = await tokenFor({ sub: 'backend', subscribe: ['chat.room1'] });

  const listed = await httpGet(broker, '/presence?topic=chat.room1', token);
  const ws = (await presence(alice, 'chat.room1')) as PresenceMessage;
  t.same(listed, {
    status: 200,
    body: {
      topic: 'chat.room1',
      epoch: ws.epoch,
      offset: ws.offset,
      seq: ws.seq,
      stats: { connections: 2, users: 1, anonymous: 1 },
      truncated: false,
      users: { alice: { [alice.welcome.connectionId]: { name: 'Alice' } } },
      anonymous: { [anonymous.welcome.connectionId]: null },
    },
  });
  t.same(await httpGet(broker, '/presence/stats?topic=chat.room1', token), {
    status: 200,
    body: { topic: 'chat.room1', epoch: ws.epoch, offset: ws.offset, seq: ws.seq, connections: 2, users: 1, anonymous: 1 },
  });
  t.match(await httpGet(broker, '/presence?topic=news.today', token), { status: 400, body: { code: 'presence_disabled' } });
  t.match(await httpGet(broker, '/presence/stats?topic=chat.*', token), { status: 400, body: { code: 'invalid_topic' } });
  t.match(await httpGet(broker, '/presence?topic=chat.room2', token), { status: 403, body: { code: 'forbidden' } });
  t.match(await httpGet(broker, '/presence', token), { status: 400, body: { code: 'bad_request' } });
  t.match(await httpGet(broker, '/presence?topic=chat.room1', 'not-a-token'), { status: 401, body: { code: 'invalid_token' } });
});
