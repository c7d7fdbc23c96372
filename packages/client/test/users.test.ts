// Users and server-side subscriptions against a scripted broker (protocol.md §14): client.user, userTopic,
// publishToUser, the reserved root in the router, serverSubscriptions with their event, and listen(): claimed
// while offered, on every connection with since, ended by server_unsubscribed.
import t, { type Test } from 'tap';
import { type Message, type ServerSubscriptionChange, type SwitchboardError, createClient } from '../src/index.js';
import { startScriptedBroker } from './helpers/scripted-broker.js';
import { Inbox, delay } from './helpers/wait.js';

const capabilities = ['presence', 'user_topics', 'server_subscriptions'];

async function setup(t: Test) {
  const broker = await startScriptedBroker();
  const client = createClient({ url: broker.url, random: () => 0, reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
  t.teardown(async () => {
    await client.close();
    await broker.close();
  });
  return { broker, client };
}

t.test('user, userTopic and publishToUser; the reserved root keeps > and *.x off user topics', async (t) => {
  const { broker, client } = await setup(t);
  t.throws(() => client.userTopic('bob'), { code: 'unsupported' }, 'not known before a welcome');
  const published = client.publishToUser('zoë', { text: 'hi' });
  const connection = await broker.connection(0);
  connection.welcome({ capabilities, user: 'alice', userTopicPrefix: 'user' });
  await client.whenConnected();
  t.equal(client.user, 'alice');
  t.equal(client.userTopic('bob'), 'user.bob');
  t.equal(client.userTopic('ann.smith'), 'user.b64:YW5uLnNtaXRo');
  const publish = await connection.next('publish');
  t.match(publish, { topic: 'user.b64:em_Dqw', data: { text: 'hi' } }, 'waited for the prefix, then an ordinary publish');
  connection.send({ op: 'published', id: publish.id!, offset: 1, epoch: 'e' });
  t.match(await published, { offset: 1 });

  const everything = new Inbox<string>();
  const starred = new Inbox<string>();
  const users = new Inbox<string>();
  client.subscribe('>', (message) => everything.push(message.topic));
  client.subscribe('*.alice', (message) => starred.push(message.topic));
  client.subscribe('user.>', (message) => users.push(message.topic));
  for (let index = 0; index < 3; index++) {
    const request = await connection.next('subscribe');
    connection.send({ op: 'subscribed', id: request.id, pattern: request.pattern });
  }
  connection.send({ op: 'message', topic: 'user.alice', priority: 'normal', offset: 1, epoch: 'e', data: 'to alice' });
  connection.send({ op: 'message', topic: 'chat.alice', priority: 'normal', offset: 1, epoch: 'e', data: 'in chat' });
  await users.atLeast(1);
  await everything.atLeast(1);
  await starred.atLeast(1);
  t.same(users.items, ['user.alice']);
  t.same(everything.items, ['chat.alice'], '> does not see user topics');
  t.same(starred.items, ['chat.alice'], '*.alice neither');
});

t.test('without user_topics: userTopic and publishToUser are unsupported, and nothing is reserved', async (t) => {
  const { broker, client } = await setup(t);
  const connection = await broker.connection(0);
  connection.welcome({ user: 'alice', userTopicPrefix: 'user' });
  await client.whenConnected();
  t.throws(() => client.userTopic('bob'), { code: 'unsupported' });
  await t.rejects(client.publishToUser('bob', 1), { code: 'unsupported' });
  const everything = new Inbox<string>();
  client.subscribe('>', (message) => everything.push(message.topic));
  const request = await connection.next('subscribe');
  connection.send({ op: 'subscribed', id: request.id, pattern: '>' });
  connection.send({ op: 'message', topic: 'user.alice', priority: 'normal', offset: 1, epoch: 'e', data: 'x' });
  await everything.atLeast(1);
  t.same(everything.items, ['user.alice']);
});

t.test('listen: claimed while offered, with since on reconnect; ended by server_unsubscribed', async (t) => {
  const { broker, client } = await setup(t);
  const changes = new Inbox<ServerSubscriptionChange>();
  client.on('serverSubscription', changes.push);
  const own = new Inbox<Message<unknown>>();
  const support = new Inbox<Message<unknown>>();
  const supportErrors = new Inbox<SwitchboardError>();
  const listening = client.listen('user.alice', own.push);
  const later = client.listen('chat.support.42', support.push, { onError: supportErrors.push });
  const connection = await broker.connection(0);
  connection.welcome({ capabilities, user: 'alice', userTopicPrefix: 'user', subscriptions: ['user.alice', 'chat.lobby'] });
  const claim = await connection.next('subscribe');
  t.same(claim, { op: 'subscribe', id: claim.id, pattern: 'user.alice' }, 'the offered pattern is claimed; the other waits');
  t.same([...client.serverSubscriptions], ['user.alice', 'chat.lobby']);
  t.same(changes.items, [
    { pattern: 'user.alice', added: true },
    { pattern: 'chat.lobby', added: true },
  ]);
  connection.send({ op: 'subscribed', id: claim.id, pattern: 'user.alice', server: true });
  await listening;
  connection.send({ op: 'message', topic: 'user.alice', priority: 'normal', offset: 4, epoch: 'e', data: 'dm' });
  await own.atLeast(1);

  connection.send({ op: 'server_subscribe', pattern: 'chat.support.42' });
  const second = await connection.next('subscribe');
  t.equal(second.pattern, 'chat.support.42', 'offered later: claimed at once');
  connection.send({ op: 'subscribed', id: second.id, pattern: 'chat.support.42', server: true });
  await later;
  t.same(changes.items.at(-1), { pattern: 'chat.support.42', added: true });

  connection.close(4003, 'reconnect');
  const next = await broker.connection(1);
  next.welcome({ capabilities, user: 'alice', userTopicPrefix: 'user', subscriptions: ['user.alice', 'chat.support.42'] });
  const reclaims = [await next.next('subscribe'), await next.next('subscribe')];
  t.same(reclaims.map((request) => [request.pattern, request.since]), [
    ['user.alice', { 'user.alice': { offset: 4, epoch: 'e' } }],
    ['chat.support.42', undefined],
  ], 'claimed again on the new connection, recovering from the position');
  t.same(changes.items.slice(-1), [{ pattern: 'chat.lobby', added: false }], 'no longer offered');
  for (const request of reclaims) next.send({ op: 'subscribed', id: request.id, pattern: request.pattern, server: true });

  next.send({ op: 'unsubscribed', pattern: 'chat.support.42', code: 'server_unsubscribed' });
  await supportErrors.atLeast(1);
  t.match(supportErrors.items[0], { code: 'server_unsubscribed' });
  t.equal(later.state, 'ended');
  t.equal(listening.state, 'active', 'the other goes on');
  t.same([...client.serverSubscriptions], ['user.alice']);
  t.same(changes.items.at(-1), { pattern: 'chat.support.42', added: false });

  next.close(4003, 'reconnect');
  const third = await broker.connection(2);
  third.welcome({ capabilities, user: 'alice', userTopicPrefix: 'user', subscriptions: [] });
  await client.whenConnected();
  await delay(30);
  t.notOk(third.received.some((message) => message.op === 'subscribe'), 'nothing offered: nothing claimed, the listen waits');
  t.equal(listening.state, 'active');
  third.send({ op: 'server_subscribe', pattern: 'user.alice' });
  const back = await third.next('subscribe');
  t.same(back.since, { 'user.alice': { offset: 4, epoch: 'e' } }, 'the waiting listen kept its position');
});

t.test('listen on a broker without server-side subscriptions ends unsupported', async (t) => {
  const { broker, client } = await setup(t);
  const errors = new Inbox<SwitchboardError>();
  const listening = client.listen('user.alice', () => {}, { onError: errors.push });
  const connection = await broker.connection(0);
  connection.welcome({});
  await errors.atLeast(1);
  t.match(errors.items[0], { code: 'unsupported' });
  t.equal(listening.state, 'ended');
  const after = new Inbox<SwitchboardError>();
  t.equal(client.listen('user.bob', () => {}, { onError: after.push }).state, 'ended', 'at once once the welcome said so');
});
