import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { eventually, eventuallyAsync } from '../helpers/start-broker.js';
import { type BrokerProcess, startBrokerProcess, waitListening } from '../helpers/topology-processes.js';
import { WebhookBackend, type WebhookEventBody } from '../helpers/webhook-backend.js';

/**
 * Webhooks for a node killed with -9 (docs/operations.md "Webhooks across a cluster"): the node that sweeps
 * it reports each of its connections `connection.closed` with 1006 and each of its presence members
 * `presence.member_removed` with `expired`, once, while the survivor's own closes are reported once, as
 * usual. Two broker processes on a private redis-server, and a backend on loopback checking signatures.
 */

t.setTimeout(300_000);

const webhookSecret = 'whsec-a-test-secret-of-at-least-32-bytes';
const jwtSecret = 'a-test-secret-of-at-least-32-bytes!!';
const nodeTtlMs = 1000;
/** The presence bound (TTL + TTL/3 + 1 s) plus slack for a loaded machine: a poll's limit, not a timing claim. */
const sweptWithinMs = nodeTtlMs + nodeTtlMs / 3 + 1000 + 20_000;

async function node(t: Test, name: string, redis: RedisServer, backend: WebhookBackend): Promise<BrokerProcess> {
  const broker = await startBrokerProcess(t, name, redis.url, undefined, {
    JWT_SECRET: jwtSecret,
    PRESENCE: 'chat.>',
    PRESENCE_NODE_TTL: String(nodeTtlMs),
    WEBHOOK_URL: backend.url,
    WEBHOOK_SECRET: webhookSecret,
    WEBHOOK_TIMEOUT: '1000',
    WEBHOOK_BATCH_DELAY: '5',
    WEBHOOK_OCCUPANCY_GRACE: '200',
  });
  await waitListening(broker);
  return broker;
}

async function open(t: Test, broker: BrokerProcess, user: string): Promise<Peer> {
  const token = await signJwt({ sub: user, subscribe: ['>'], publish: ['>'] }, jwtSecret);
  const peer = await Peer.open(`ws://127.0.0.1:${broker.port}/`, { headers: { Authorization: `Bearer ${token}` } });
  t.teardown(() => peer.close());
  return peer;
}

/** The accepted events of `type` about `connectionId`, one per event id (the backend's de-duplication). */
function distinct(backend: WebhookBackend, type: string, connectionId: string): WebhookEventBody[] {
  const byId = new Map<string, WebhookEventBody>();
  for (const event of backend.acceptedOf(type)) if (event.connectionId === connectionId) byId.set(event.id, event);
  return [...byId.values()];
}

t.test('kill -9: the sweeper reports the dead node\'s connections closed (1006) and its members removed (expired), once each', async (t) => {
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  const backend = await WebhookBackend.start(t, webhookSecret);
  const client = new Redis(redis.url);
  t.teardown(() => client.disconnect());
  const [doomed, survivor] = await Promise.all([node(t, 'node-a', redis, backend), node(t, 'node-b', redis, backend)]);

  const alice = await open(t, doomed, 'alice');
  t.match(await alice.subscribe('chat.room'), { op: 'subscribed' });
  t.match(await alice.subscribe('chat.solo'), { op: 'subscribed' });
  const bob = await open(t, survivor, 'bob');
  t.match(await bob.subscribe('chat.room'), { op: 'subscribed' });
  const carol = await open(t, survivor, 'carol');
  t.match(await carol.subscribe('chat.room'), { op: 'subscribed' });
  const [aliceId, bobId, carolId] = [alice, bob, carol].map((peer) => peer.welcome.connectionId) as [string, string, string];
  // The events travel on the connection that records alice's connection, after that write: it is in Redis.
  await eventually(() => backend.acceptedOf('presence.member_added').length === 4, 20_000, 'the four memberships reported');
  t.equal(await client.zcard('sb:nodes'), 2, 'two live nodes');

  doomed.child.kill('SIGKILL');
  await doomed.exited;
  await eventually(
    () => distinct(backend, 'connection.closed', aliceId).length > 0 && distinct(backend, 'presence.member_removed', aliceId).length === 2,
    sweptWithinMs,
    'alice\'s connection closed and her two memberships removed',
  );
  // The sweep is over once node-a is forgotten and its lease let go: nothing of it is left to report again.
  await eventuallyAsync(async () => (await client.zcard('sb:nodes')) === 1 && (await client.keys('sb:sweep:*')).length === 0, 'node-a forgotten');

  // The survivor's own normal close, after everything above in the one ordered stream of the endpoint.
  await bob.close();
  await eventually(() => distinct(backend, 'connection.closed', bobId).length > 0 && distinct(backend, 'presence.member_removed', bobId).length > 0, 20_000, 'bob\'s close');
  await eventually(() => backend.acceptedOf('topic.vacated').some((event) => event.topic === 'chat.solo'), 20_000, 'chat.solo vacated');

  t.match(distinct(backend, 'connection.closed', aliceId), [{ code: 1006, user: 'alice', node: 'node-b' }], 'alice: closed once, 1006, by node-b');
  t.match(
    distinct(backend, 'presence.member_removed', aliceId).sort((x, y) => (x.topic ?? '').localeCompare(y.topic ?? '')),
    [
      { topic: 'chat.room', user: 'alice', reason: 'expired', node: 'node-b' },
      { topic: 'chat.solo', user: 'alice', reason: 'expired', node: 'node-b' },
    ],
    'alice: each membership removed once, expired',
  );
  t.match(distinct(backend, 'connection.closed', bobId), [{ code: 1000, user: 'bob', node: 'node-b' }], 'bob: closed once, normally');
  t.match(distinct(backend, 'presence.member_removed', bobId), [{ topic: 'chat.room', reason: 'disconnected' }], 'bob: removed once');
  t.same(distinct(backend, 'connection.closed', carolId), [], 'carol, still connected to node-b, is not reported closed');
  t.same(distinct(backend, 'presence.member_removed', carolId), [], 'nor removed');
  t.same(
    backend.acceptedOf('topic.vacated').map((event) => event.topic),
    ['chat.solo'],
    'the topic only node-a held is vacated; the one node-b still holds is not',
  );
  for (const request of backend.requests) t.ok(request.verified, 'signed');
});

t.test('a node paused past its TTL is taken for dead; resumed, it reports its connections opened again, so a later kill -9 closes them again', async (t) => {
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  const backend = await WebhookBackend.start(t, webhookSecret);
  const [paused] = await Promise.all([node(t, 'node-a', redis, backend), node(t, 'node-b', redis, backend)]);
  t.teardown(() => {
    if (paused.child.exitCode === null && paused.child.signalCode === null) paused.child.kill('SIGCONT');
  });
  const alice = await open(t, paused, 'alice');
  t.match(await alice.subscribe('chat.room'), { op: 'subscribed' });
  const aliceId = alice.welcome.connectionId;
  await eventually(() => distinct(backend, 'presence.member_added', aliceId).length === 1, 20_000, 'alice joined');

  paused.child.kill('SIGSTOP');
  await eventually(() => distinct(backend, 'connection.closed', aliceId).length === 1, sweptWithinMs, 'node-a taken for dead');
  paused.child.kill('SIGCONT');
  await eventually(
    () => distinct(backend, 'connection.opened', aliceId).length === 2 && distinct(backend, 'presence.member_added', aliceId).length === 2,
    20_000,
    'alice reported opened and joined again by node-a',
  );
  t.match(distinct(backend, 'connection.opened', aliceId)[1], { node: 'node-a', user: 'alice' }, 'opened again, by node-a');

  paused.child.kill('SIGKILL');
  await paused.exited;
  await eventually(
    () => distinct(backend, 'connection.closed', aliceId).length === 2 && distinct(backend, 'presence.member_removed', aliceId).length === 2,
    sweptWithinMs,
    'alice closed and removed again once node-a is really gone',
  );
  t.match(distinct(backend, 'connection.closed', aliceId), [{ code: 1006, node: 'node-b' }, { code: 1006, node: 'node-b' }]);
  t.match(distinct(backend, 'presence.member_removed', aliceId), [{ reason: 'expired' }, { reason: 'expired' }]);
  for (const request of backend.requests) t.ok(request.verified, 'signed');
});
