// Users and server-side subscriptions against a real broker process (protocol.md §14): client.user and
// serverSubscriptions from welcome, publishToUser reaching every connection of a user and no `>`
// subscriber, listen() claiming the token's `subs` and an admin subscribe, server_unsubscribed ending it,
// and disconnect by user (4404: stop; 4103: reconnect at once).
import t, { type Test } from 'tap';
import { type Client, type Message, type ServerSubscriptionChange, type StateChange, type SwitchboardError, createClient } from '../../src/index.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { TEST_JWT_SECRET, signTestJwt } from '../helpers/jwt.js';
import { Inbox, delay, until } from '../helpers/wait.js';

const ADMIN_TOKEN = 'an-admin-token-of-at-least-32-bytes-0123';
let broker: BrokerProcess;

t.before(async () => {
  broker = await startBroker(['--jwt-secret', TEST_JWT_SECRET, '--admin-token', ADMIN_TOKEN]);
});
t.teardown(() => broker?.stop());

function connect(t: Test, claims: Record<string, unknown>): Client {
  const client = createClient({ url: broker.url, token: signTestJwt(claims), reconnect: { initialDelayMs: 20, maxDelayMs: 50 } });
  t.teardown(() => client.close());
  return client;
}

async function admin(path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${broker.port}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

t.test('publishToUser reaches every connection of the user that listens, and no > subscriber', async (t) => {
  const alice1 = connect(t, { sub: 'alice' });
  const alice2 = connect(t, { sub: 'alice' });
  const support = connect(t, { sub: 'support', publish: ['user.>', 'chat.>'] });
  const monitor = connect(t, { sub: 'monitor', subscribe: ['>'], publish: ['>'] });
  await Promise.all([alice1.whenConnected(), alice2.whenConnected(), support.whenConnected()]);
  t.equal(alice1.user, 'alice');
  t.same([...alice1.serverSubscriptions], ['user.alice'], 'the own user topic is offered');
  t.equal(support.userTopic('alice'), 'user.alice');
  const inboxes = [new Inbox<Message<unknown>>(), new Inbox<Message<unknown>>()];
  await Promise.all([alice1.listen('user.alice', inboxes[0]!.push), alice2.listen('user.alice', inboxes[1]!.push)]);
  const seen = new Inbox<string>();
  await monitor.subscribe('>', (message) => seen.push(message.topic));

  const ack = await support.publishToUser('alice', { text: 'your ticket' });
  const [first, second] = await Promise.all([inboxes[0]!.atLeast(1), inboxes[1]!.atLeast(1)]);
  t.match(first[0], { topic: 'user.alice', data: { text: 'your ticket' }, offset: ack?.offset });
  t.match(second[0], { topic: 'user.alice', offset: ack?.offset }, 'the same publication on both');
  await support.publish('chat.x', 'visible');
  await seen.atLeast(1);
  t.same(seen.items, ['chat.x'], 'the > monitor never sees user topics');
  await t.rejects(monitor.publishToUser('alice', 'no grant'), { code: 'forbidden' }, 'a > publish grant does not reach user topics: it needs one naming the prefix');
});

t.test('listen claims the token subs and an admin subscribe; an admin unsubscribe ends it', async (t) => {
  const bob = connect(t, { sub: 'bob', subs: ['news.bob'], publish: ['>'] });
  const changes = new Inbox<ServerSubscriptionChange>();
  bob.on('serverSubscription', changes.push);
  const news = new Inbox<unknown>();
  const tickets = new Inbox<unknown>();
  const ended = new Inbox<SwitchboardError>();
  const newsListen = bob.listen('news.bob', (message) => news.push(message.data));
  const ticketListen = bob.listen('ticket.42', (message) => tickets.push(message.data), { onError: ended.push });
  await newsListen;
  t.same([...bob.serverSubscriptions].sort(), ['news.bob', 'user.bob']);
  await bob.publish('news.bob', 'headline');
  await news.atLeast(1);
  t.equal(ticketListen.state, 'pending', 'not offered: waiting');

  t.match(await admin('/admin/users/bob/subscribe', { pattern: 'ticket.42' }), { complete: true });
  await ticketListen;
  await until(() => changes.items.some((change) => change.pattern === 'ticket.42' && change.added), 'the serverSubscription event');
  await bob.publish('ticket.42', 'opened');
  await tickets.atLeast(1);

  t.match(await admin('/admin/users/bob/unsubscribe', { pattern: 'ticket.42' }), { complete: true });
  await ended.atLeast(1);
  t.match(ended.items[0], { code: 'server_unsubscribed' });
  t.equal(ticketListen.state, 'ended');
  t.notOk(bob.serverSubscriptions.has('ticket.42'));
  t.same(changes.items.at(-1), { pattern: 'ticket.42', added: false });
  t.equal(newsListen.state, 'active', 'the other goes on');
});

t.test('disconnect by user: 4404 stops the client for good; 4103 has it reconnect at once', async (t) => {
  const kept = connect(t, { sub: 'carol' });
  const banned = connect(t, { sub: 'carol' });
  await Promise.all([kept.whenConnected(), banned.whenConnected()]);
  const states: StateChange[] = [];
  kept.on('state', (change) => states.push(change));
  await admin('/admin/users/carol/disconnect', { reconnect: false, except: [kept.connectionId] });
  await until(() => banned.state === 'closed', 'the 4404 close');
  t.equal(kept.state, 'connected', 'the excepted connection stays');
  await admin('/admin/users/carol/disconnect', { reconnect: true });
  await until(() => states.some((change) => change.closeCode === 4103), 'the 4103 close');
  await kept.whenConnected();
  await delay(10);
  t.equal(kept.state, 'connected', 'reconnected');
});
