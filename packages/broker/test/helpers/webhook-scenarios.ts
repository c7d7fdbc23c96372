import type { Test } from 'tap';
import type { Cluster, Redis } from 'ioredis';
import type { ConfigInput } from '../../src/config/config.js';
import { webhookQueueKeys } from '../../src/webhooks/redis-webhook-endpoint.js';
import { Peer } from './pubsub-peer.js';
import { eventually, eventuallyAsync, startBroker, type TestBroker } from './start-broker.js';
import { type BrokerProcess, startBrokerProcess, waitListening } from './topology-processes.js';
import { WebhookBackend } from './webhook-backend.js';

/**
 * Webhook scenarios that run alike on every Redis topology (webhooks-redis.test.ts for REDIS_URL,
 * webhooks-redis-topologies.test.ts for Redis Cluster and Sentinel): only how the brokers reach Redis differs.
 */

export const webhookSecret = 'whsec-a-test-secret-of-at-least-32-bytes';

/** How brokers reach one Redis: the config for an in-process broker, the env for a broker process, a client. */
export interface WebhookRedis {
  readonly config: ConfigInput;
  readonly env: Record<string, string>;
  readonly client: Redis | Cluster;
}

export interface KilledMidBatch {
  readonly backend: WebhookBackend;
  /** The broker process killed with -9 (its output stays readable). */
  readonly doomed: BrokerProcess;
  readonly survivor: TestBroker;
  /** The connections the doomed node opened. */
  readonly ids: readonly string[];
  /** The endpoint's stream key. */
  readonly events: string;
  /** The ids of the connection.opened events the backend accepted. */
  readonly redelivered: readonly string[];
}

/**
 * node-a (a process) queues three connection.opened events and is killed with -9 while its batch is in
 * flight; node-b (in process) delivers them. Checks they are node-a's, for its connections, and that the batch
 * in flight came again with the same ids; the caller checks what its topology adds.
 */
export async function killedMidBatch(t: Test, redis: WebhookRedis): Promise<KilledMidBatch> {
  const backend = await WebhookBackend.start(t, webhookSecret);
  backend.hang = true;
  const env = { ...redis.env, WEBHOOK_URL: backend.url, WEBHOOK_SECRET: webhookSecret, WEBHOOK_TIMEOUT: '1000', WEBHOOK_BATCH_DELAY: '5' };
  const doomed = await startBrokerProcess(t, 'node-a', undefined, undefined, env);
  await waitListening(doomed);
  const ids = [];
  for (let index = 0; index < 3; index++) {
    const peer = await Peer.open(`ws://127.0.0.1:${doomed.port}/`);
    t.teardown(() => peer.close());
    ids.push(peer.welcome.connectionId);
  }
  const { events } = webhookQueueKeys(backend.url);
  await eventuallyAsync(async () => (await redis.client.xlen(events)) === 3, 'the three connection.opened events in the stream');
  await eventually(() => backend.requests.length > 0, 20_000, 'node-a sending its first batch');
  const sentBeforeTheCrash = backend.requests.flatMap((request) => request.batch.events.map((event) => event.id));

  doomed.child.kill('SIGKILL');
  await doomed.exited;
  backend.hang = false;
  const survivor = await startBroker(t, { ...redis.config, nodeName: 'node-b', webhookUrl: backend.url, webhookSecret, webhookTimeoutMs: 1000, webhookBatchDelayMs: 5 });
  await eventually(() => backend.acceptedOf('connection.opened').length >= 3, 30_000, "node-a's events delivered by node-b");

  const delivered = backend.acceptedOf('connection.opened');
  t.same(new Set(delivered.map((event) => event.connectionId)), new Set(ids), 'every connection node-a opened is reported');
  t.ok(delivered.every((event) => event.node === 'node-a'), "as node-a's events");
  const redelivered = delivered.map((event) => event.id);
  t.ok(sentBeforeTheCrash.length > 0 && sentBeforeTheCrash.every((id) => redelivered.includes(id)), 'the batch in flight at the crash came again with the same event ids');
  return { backend, doomed, survivor, ids, events, redelivered };
}

/**
 * A user moves between two nodes: room.1 occupied on node-a, joined on node-b, left on node-a, left on node-b
 * and joined again on node-a within the grace period. One occupied, then (once the last leaves) one vacated.
 * `keysOf` names room.1's occupancy hash and vacating set as node-a writes them.
 */
export async function userMovesBetweenNodes(
  t: Test,
  redis: Pick<WebhookRedis, 'config' | 'client'>,
  keysOf: (a: TestBroker) => readonly [occupancy: string, vacating: string],
): Promise<WebhookBackend> {
  const backend = await WebhookBackend.start(t, webhookSecret);
  const config = { ...redis.config, webhookUrl: backend.url, webhookSecret, webhookBatchDelayMs: 5, webhookOccupancyGraceMs: 5000 };
  const a = await startBroker(t, { ...config, nodeName: 'node-a' });
  const b = await startBroker(t, { ...config, nodeName: 'node-b' });
  const open = async (url: string): Promise<Peer> => {
    const peer = await Peer.open(url);
    t.teardown(() => peer.close());
    return peer;
  };
  const topicEvents = () => backend.accepted.filter((event) => event.type.startsWith('topic.')).map((event) => `${event.type} ${event.topic}`);

  const onA = await open(a.url);
  t.match(await onA.subscribe('room.1'), { op: 'subscribed' });
  await eventually(() => topicEvents().length === 1, 20_000, 'occupied');
  const onB = await open(b.url);
  t.match(await onB.subscribe('room.1'), { op: 'subscribed' });
  await onA.close();
  // The last subscriber moves from node-b back to node-a within the grace period.
  await onB.close();
  const back = await open(a.url);
  t.match(await back.subscribe('room.1'), { op: 'subscribed' });
  const marker = await open(b.url);
  await eventually(() => backend.acceptedOf('connection.opened').some((event) => event.connectionId === marker.welcome.connectionId), 20_000, 'later events sent');
  await eventually(() => backend.acceptedOf('connection.closed').length >= 2, 20_000, 'the closes sent');
  // Settled: node-a holds the topic and nothing waits to be vacated, so no sweep can report it any more.
  const [occupancy, vacating] = keysOf(a);
  await eventuallyAsync(
    async () => (await redis.client.hkeys(occupancy)).join() === 'node-a' && (await redis.client.zcard(vacating)) === 0,
    'room.1 held by node-a alone, not vacating',
  );
  t.same(topicEvents(), ['topic.occupied room.1'], 'still occupied: neither vacated nor occupied again');
  await back.close();
  await eventually(() => topicEvents().length === 2, 20_000, 'vacated after the grace period');
  t.same(topicEvents(), ['topic.occupied room.1', 'topic.vacated room.1']);
  return backend;
}
