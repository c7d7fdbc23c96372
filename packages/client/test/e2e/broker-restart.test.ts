// The broker process goes away: killed with SIGKILL and restarted on the same port, or shut down
// gracefully (4100). (Network cuts and the offline queue are in offline.test.ts.)
import t from 'tap';
import { type Message, type RecoveryFailure } from '../../src/index.js';
import { broker, connect } from '../helpers/reconnect-fixtures.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { Inbox, until } from '../helpers/wait.js';

t.test('the broker is killed and restarted: resubscribed, offline publishes delivered, lost history reported', async (t) => {
  const server = await broker(t);
  // The publisher goes through a proxy the test can hold shut, so it reconnects only after the
  // subscriber has subscribed again (otherwise its queued publishes could beat the subscription).
  const gate = await startTcpProxy(server.port);
  t.teardown(() => gate.close());
  const subscriber = connect(t, server.url);
  const publisher = connect(t, gate.url);
  const messages = new Inbox<Message<{ n: number }>>();
  const failures = new Inbox<RecoveryFailure>();
  await subscriber.client.subscribe('room.*', messages.push, { onRecoveryFailed: failures.push });
  for (const n of [1, 2, 3]) await publisher.client.publish('room.a', { n });
  await messages.atLeast(3);
  const before = subscriber.client.position('room.a')!;
  t.equal(before.offset, 3);

  gate.refuse(true);
  await server.kill();
  await until(() => subscriber.client.state !== 'connected' && publisher.client.state !== 'connected', 'both clients to notice');
  t.match(subscriber.states.find((change) => change.state === 'disconnected'), { closeCode: 1006, error: { code: 'closed' } });
  const offline = [publisher.client.publish('room.a', { n: 4 }), publisher.client.publish('room.a', { n: 5 })];
  t.same(publisher.client.queued, { messages: 2, bytes: 14 }, 'published while the broker is down: queued ({"n":4} is 7 bytes)');

  await server.restart();
  await subscriber.client.whenConnected();
  const [failure] = await failures.atLeast(1, 'the recovery failure', 15_000);
  t.match(failure, { topic: 'room.a', reason: 'epoch_mismatch' }, 'a memory engine loses history on restart: the client is told to resync');
  t.not(failure!.epoch, before.epoch);

  gate.refuse(false);
  const acks = await Promise.all(offline);
  t.same(acks.map((ack) => ack.offset), [1, 2], 'the offline publishes were sent after the restart, in order');
  await messages.atLeast(5);
  t.same(messages.items.map((message) => message.data.n), [1, 2, 3, 4, 5]);
  t.same(subscriber.client.position('room.a'), { offset: 2, epoch: failure!.epoch });
  const states = subscriber.states.map((change) => change.state);
  t.match(states.join(' > '), /^connected( > disconnected > reconnecting)+ > connected$/, 'the kill, failed attempts while it was down, then connected');
  t.ok(subscriber.states.filter((change) => change.state === 'disconnected').every((change) => change.retryInMs! <= 300), 'backoff within maxDelayMs');
});

t.test('graceful shutdown closes with 4100: the client reconnects at once, and again when the broker is back', async (t) => {
  const server = await broker(t);
  const { client, states } = connect(t, server.url);
  await client.whenConnected();
  await server.stop();
  await until(() => states.some((change) => change.state === 'disconnected'), 'the disconnect');
  const first = states.find((change) => change.state === 'disconnected')!;
  t.match(first, { closeCode: 4100 });
  t.ok(first.retryInMs! < 1000, `"now" advice: ${first.retryInMs} ms, under 1 s`);
  await server.restart();
  await client.whenConnected();
  t.pass('connected again');
});
