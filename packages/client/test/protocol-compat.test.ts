// An SDK that uses no capability against a server that has them (protocol.md §1, §13, §14): the fields it
// does not know are dropped, the ops it did not ask for are ignored, and nothing else changes.
import t from 'tap';
import type { ServerMessage } from '@switchboard/protocol';
import { type Message, type SwitchboardError, createClient } from '../src/index.js';
import { startScriptedBroker } from './helpers/scripted-broker.js';
import { Inbox, delay } from './helpers/wait.js';

const position = { topic: 'chat.room1', epoch: 'e7f3', offset: 1, seq: 18 };

/** One of each op of protocol.md §13 and §14, as a server that has every capability sends them. */
const presenceOps: ServerMessage[] = [
  { op: 'join', ...position, connection: 'c_2', user: 'bob', info: { name: 'Bob' }, first: true },
  { op: 'leave', ...position, seq: 19, connection: 'c_2', user: 'bob', last: true, reason: 'disconnected' },
  { op: 'presence_stats', ...position, seq: 20, connections: 3, users: 2, anonymous: 1, coalesced: 4 },
  { op: 'presence_stats', id: 99, ...position, connections: 3, users: 2, anonymous: 1 },
  { op: 'presence', id: 98, ...position, stats: { connections: 1, users: 1, anonymous: 0 }, truncated: false, data: { users: { bob: { c_2: null } }, anonymous: {} } },
  { op: 'presence_gap', topic: 'chat.room1', epoch: 'e7f3', seq: 31, reason: 'slow_consumer' },
  { op: 'server_subscribe', pattern: 'chat.support.42' },
];

t.test('new welcome and subscribed fields are dropped, new ops ignored, deliveries unchanged', async (t) => {
  const broker = await startScriptedBroker();
  const client = createClient({ url: broker.url, random: () => 0 });
  const errors: SwitchboardError[] = [];
  client.on('error', (error) => errors.push(error));
  t.teardown(async () => {
    await client.close();
    await broker.close();
  });
  const connected = new Promise<unknown>((resolve) => client.on('connected', resolve));
  const connection = await broker.connection(0);
  connection.welcome({
    capabilities: ['presence', 'user_topics', 'server_subscriptions', 'a_later_one'],
    user: 'alice',
    userTopicPrefix: 'user',
    subscriptions: ['user.alice', 'chat.lobby'],
  });
  const welcome = await connected;
  t.notOk(welcome !== null && typeof welcome === 'object' && 'capabilities' in welcome, 'the SDK passes on no field it does not use');
  t.equal(client.state, 'connected');

  const messages = new Inbox<Message<unknown>>();
  const subscription = client.subscribe('chat.room1', messages.push);
  const request = await connection.next('subscribe');
  t.notOk('presence' in request, 'an SDK without presence never asks for join/leave events');
  connection.send({ op: 'subscribed', id: request.id, pattern: 'chat.room1', server: true });
  await subscription;

  connection.send({ op: 'message', topic: 'chat.room1', priority: 'normal', offset: 1, epoch: 'e7f3', data: 'before' });
  for (const message of presenceOps) connection.send(message);
  connection.send({ op: 'message', topic: 'chat.room1', priority: 'normal', offset: 2, epoch: 'e7f3', data: 'after' });
  await messages.atLeast(2);
  await delay(20);
  t.same(messages.items.map((message) => message.data), ['before', 'after'], 'the presence ops in between change nothing');
  t.same(errors, [], 'no error reported: ignoring a new op is not an error');
  t.same(client.position('chat.room1'), { offset: 2, epoch: 'e7f3' }, 'positions carry no seq');

  connection.close(4003, 'engine lost');
  const second = await broker.connection(1);
  second.welcome();
  const resubscribe = await second.next('subscribe');
  t.same(resubscribe.since, { 'chat.room1': { offset: 2, epoch: 'e7f3' } }, 'since without seq');
  second.send({
    op: 'subscribed',
    id: resubscribe.id,
    pattern: 'chat.room1',
    recovery: { 'chat.room1': { status: 'recovered', epoch: 'e7f3', offset: 3, presence: { status: 'failed', reason: 'expired', seq: 23 } } },
  });
  second.send({ op: 'message', topic: 'chat.room1', priority: 'normal', offset: 3, epoch: 'e7f3', data: 'recovered' });
  await messages.atLeast(3);
  t.equal(messages.items[2]?.data, 'recovered', 'a recovery entry with presence is an ordinary recovered one');
  t.same(errors, []);
});
