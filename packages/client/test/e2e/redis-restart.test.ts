// Two broker nodes sharing Redis (the broker's Redis engine keeps history across broker restarts): the
// subscriber's node is killed, messages are published through the other node meanwhile, and after the
// restart the subscriber recovers them by offset, then receives live ones, each exactly once.
import t, { type Test } from 'tap';
import { type Client, type ClientOptions, type Message, type RecoveryFailure, createClient } from '../../src/index.js';
import { startBroker } from '../helpers/broker-process.js';
import { startRedis } from '../helpers/redis-server.js';
import { Inbox, delay, until } from '../helpers/wait.js';

interface Topics {
  'room.*': { n: number; from: string };
}

function connect(t: Test, url: string, options: Partial<ClientOptions<Topics>> = {}): Client<Topics> {
  const client = createClient<Topics>({ url, reconnect: { initialDelayMs: 50, maxDelayMs: 300 }, ...options });
  t.teardown(() => client.close());
  return client;
}

t.test('the subscriber node is killed and restarted: what was published meanwhile is recovered from history', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const [nodeA, nodeB] = await Promise.all([
    startBroker(['--redis-url', redis.url, '--node-name', 'node-a']),
    startBroker(['--redis-url', redis.url, '--node-name', 'node-b']),
  ]);
  t.teardown(() => Promise.all([nodeA.stop(), nodeB.stop()]).then(() => {}));

  const subscriber = connect(t, nodeA.url);
  const publisher = connect(t, nodeB.url);
  const messages = new Inbox<Message<{ n: number; from: string }>>();
  const failures = new Inbox<RecoveryFailure>();
  await subscriber.subscribe('room.*', messages.push, { onRecoveryFailed: failures.push });
  const fromPublisher = new Inbox<Message<{ n: number; from: string }>>();
  await publisher.subscribe('room.*', fromPublisher.push);
  for (const n of [1, 2, 3]) await publisher.publish('room.r', { n, from: 'node-b' });
  await messages.atLeast(3);
  const epoch = subscriber.position('room.r')!.epoch;

  await nodeA.kill();
  await until(() => subscriber.state !== 'connected', 'the subscriber to notice');
  for (const n of [4, 5, 6, 7]) await publisher.publish('room.r', { n, from: 'node-b' }, { priority: n === 6 ? 'high' : 'normal' });
  const offline = subscriber.publish('room.s', { n: 100, from: 'the subscriber, while its node was down' });

  await nodeA.restart();
  await subscriber.whenConnected();
  t.match(await offline, { topic: 'room.s', offset: 1 }, 'its own offline publish went out after the restart');
  await publisher.publish('room.r', { n: 8, from: 'node-b' });
  await until(() => messages.items.filter((message) => message.topic === 'room.r').length >= 8, 'eight messages of room.r', 20_000);
  await delay(100);
  const room = messages.items.filter((message) => message.topic === 'room.r');
  t.same(room.map((message) => message.data.n), [1, 2, 3, 4, 5, 6, 7, 8], 'recovered 4-7 in offset order, then live 8, each once');
  t.same(room.map((message) => message.offset), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.same(failures.items, [], 'nothing had to be resynced');
  t.same(subscriber.position('room.r'), { offset: 8, epoch }, 'same epoch: history survived the broker restart');
  await until(() => fromPublisher.items.some((message) => message.topic === 'room.s'), 'the other node to deliver the offline publish');
});
