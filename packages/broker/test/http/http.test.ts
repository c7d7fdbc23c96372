import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { signJwt } from '../../src/auth/jwt.js';
import { createConfig } from '../../src/config/config.js';
import { MemoryCluster } from '../../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { startBroker } from '../helpers/start-broker.js';

/** The HTTP endpoints, through `app.inject()` and over real HTTP. */

const secret = 'http-test-secret-of-at-least-32-bytes';

async function injectedApp(t: Test, overrides = {}, engine?: MemoryEngine) {
  const app = await buildApp(createConfig({ logLevel: 'silent', publishRatePerSecond: 0, ...overrides }), engine === undefined ? {} : { engine });
  t.teardown(() => app.close());
  return app;
}

t.test('GET /healthz: the process is alive', async (t) => {
  const app = await injectedApp(t, { nodeName: 'n1' });
  const response = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(response.statusCode, 200);
  t.same(response.json(), { status: 'ok', node: 'n1' });
});

t.test('GET /readyz: ready while the engine works; 503 during an outage and while draining', async (t) => {
  const cluster = new MemoryCluster();
  const app = await injectedApp(t, { nodeName: 'n1' }, new MemoryEngine({ cluster }));
  t.same((await app.inject({ url: '/readyz' })).json(), { status: 'ready', node: 'n1' });
  cluster.interrupt();
  const metrics = (await app.inject({ url: '/metrics' })).body;
  t.match(metrics, /^switchboard_engine_up\{node="n1"\} 0$/m, 'the outage shows in /metrics');
  t.match(metrics, /^switchboard_engine_interruptions_total\{node="n1"\} 1$/m);
  const outage = await app.inject({ url: '/readyz' });
  t.equal(outage.statusCode, 503);
  t.same(outage.json(), { status: 'not_ready', node: 'n1', reason: 'engine not ready' });
  t.ok(outage.headers['retry-after']);
  cluster.resume();
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'recovers with the engine');
  await app.broker.shutdown({ drainMs: 0, spreadMs: 0 });
  const draining = await app.inject({ url: '/readyz' });
  t.equal(draining.statusCode, 503);
  t.match(draining.json(), { reason: 'shutting down' });
});

t.test('GET /metrics: Prometheus text with connections, subscriptions, messages, bytes, queues, drops', async (t) => {
  const broker = await startBroker(t);
  const subscriber = await Peer.open(broker.url);
  const publisher = await Peer.open(broker.url);
  t.teardown(() => Promise.all([subscriber.close(), publisher.close()]));
  await subscriber.subscribe('m.*');
  await subscriber.subscribe('m.>');
  await publisher.publish('m.a', { hello: 'world' });
  await subscriber.waitForDeliveries(1);
  const response = await broker.app.inject({ url: '/metrics' });
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = response.body;
  const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
  t.equal(value('switchboard_connections'), 2);
  t.equal(value('switchboard_subscriptions'), 2);
  t.equal(value('switchboard_subscription_patterns'), 2);
  t.equal(value('switchboard_publications_total'), 1);
  t.equal(value('switchboard_deliveries_total'), 1, 'one delivery: two matching patterns, one connection');
  t.equal(value('switchboard_delivery_encodings_total'), 1);
  t.ok(value('switchboard_bytes_written_total') > 0);
  t.ok(value('switchboard_messages_received_total') >= 3);
  t.equal(value('switchboard_send_queue_bytes'), 0);
  t.equal(value('switchboard_deliveries_dropped_total'), 0);
  t.match(text, /switchboard_publishes_total\{source="websocket",node="test-node"\} 1/);
  for (const name of ['switchboard_slow_consumer_closes_total', 'switchboard_send_queue_max_connection_bytes', 'switchboard_send_queue_messages']) {
    t.match(text, new RegExp(`# TYPE ${name} `), `${name} is exported`);
  }
  t.equal(value('switchboard_engine_up'), 1);
  t.equal(value('switchboard_engine_interruptions_total'), 0);
  // Latency histograms: one delivery observation per publication (not per pattern or subscriber), one ack.
  t.equal(value('switchboard_delivery_latency_seconds_count'), 1);
  t.match(text, /^switchboard_delivery_latency_seconds_bucket\{le="\+Inf",node="test-node"\} 1$/m);
  t.match(text, /^switchboard_publish_ack_latency_seconds_count\{node="test-node",source="websocket"\} 1$/m);
  t.match(text, /^switchboard_publish_ack_latency_seconds_count\{node="test-node",source="http"\} 0$/m);
  t.match(text, /^switchboard_engine_command_duration_seconds_count\{node="test-node",command="publish"\} 0$/m, 'the memory engine has no backend to time');
  const again = await broker.app.inject({ url: '/metrics' });
  t.equal(Number(/^switchboard_publications_total\{[^}]*\} (\S+)$/m.exec(again.body)?.[1]), 1, 'counters do not double on a second scrape');
});

t.test('GET /metrics: process metrics (CPU, memory, event-loop lag, handles) beside ours, labelled with each broker\'s node', async (t) => {
  // Two brokers in one process share prom-client's collectors (started once) but label them each their own.
  const first = await startBroker(t, { nodeName: 'node-a' });
  const second = await startBroker(t, { nodeName: 'node-b' });
  for (const [broker, node] of [[first, 'node-a'], [second, 'node-b']] as const) {
    const text = (await broker.app.inject({ url: '/metrics' })).body;
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_active_handles_total',
    ]) {
      const sample = new RegExp(`^${name}\\{node="${node}"\\} (\\S+)$`, 'm').exec(text);
      t.ok(sample !== null && Number.isFinite(Number(sample[1])), `${node}: ${name} has a value`);
    }
    t.match(text, /# TYPE nodejs_gc_duration_seconds histogram/, `${node}: GC durations are exported`);
    t.match(text, /^switchboard_connections\{node="/m, `${node}: our metrics are still there`);
  }
});

t.test('POST /publish: authenticated JSON and base64 publishes reach WebSocket subscribers', async (t) => {
  const broker = await startBroker(t, { jwtSecret: secret });
  const backend = await signJwt({ sub: 'backend', publish: ['orders.>'] }, secret);
  const reader = await signJwt({ sub: 'reader', subscribe: ['>'] }, secret);
  const subscriber = await Peer.open(broker.url, { headers: { Authorization: `Bearer ${reader}` } });
  t.teardown(() => subscriber.close());
  await subscriber.subscribe('orders.*');
  const response = await fetch(`${broker.httpUrl}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${backend}` },
    body: JSON.stringify({ topic: 'orders.eu', data: { id: 7 }, priority: 'high' }),
  });
  t.equal(response.status, 200);
  t.match(await response.json(), { offset: 1, epoch: String, duplicate: false });
  const bytes = Buffer.from([1, 2, 3, 250]);
  const binary = await broker.app.inject({
    method: 'POST',
    url: '/publish',
    headers: { authorization: `Bearer ${backend}` },
    payload: { topic: 'orders.us', dataBase64: bytes.toString('base64'), key: 'k-1' },
  });
  t.equal(binary.statusCode, 200);
  const duplicate = await broker.app.inject({
    method: 'POST',
    url: '/publish',
    headers: { authorization: `Bearer ${backend}` },
    payload: { topic: 'orders.us', dataBase64: bytes.toString('base64'), key: 'k-1' },
  });
  t.match(duplicate.json(), { offset: 1, duplicate: true }, 'idempotency keys work over HTTP too');
  const [json, raw] = await subscriber.waitForDeliveries(2);
  t.match(json, { topic: 'orders.eu', priority: 'high', data: { id: 7 } });
  t.same(Buffer.from(raw?.data as Uint8Array), bytes, 'a base64 body arrives as raw bytes');
  t.equal(subscriber.deliveries.length, 2);
  const metrics = (await broker.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /^switchboard_publish_ack_latency_seconds_count\{node="test-node",source="http"\} 3$/m, 'every 200 answer timed');
});

t.test('POST /publish: every refusal has its status and pubsub.v1 code', async (t) => {
  const broker = await startBroker(t, { jwtSecret: secret, maxMessageBytes: 65536 });
  const token = await signJwt({ sub: 'backend', publish: ['ok.>'] }, secret);
  const post = (payload: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
    broker.app.inject({ method: 'POST', url: '/publish', headers: { 'content-type': 'application/json', ...headers }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
  const cases: [string, Awaited<ReturnType<typeof post>>, number, string][] = [
    ['no token', await post({ topic: 'ok.a', data: 1 }, {}), 401, 'invalid_token'],
    ['bad token', await post({ topic: 'ok.a', data: 1 }, { authorization: 'Bearer x.y.z' }), 401, 'invalid_token'],
    ['not JSON', await post('{"topic":'), 400, 'malformed'],
    ['no data', await post({ topic: 'ok.a' }), 400, 'bad_request'],
    ['both data forms', await post({ topic: 'ok.a', data: 1, dataBase64: 'AA==' }), 400, 'bad_request'],
    ['unknown field', await post({ topic: 'ok.a', data: 1, extra: true }), 400, 'bad_request'],
    ['bad priority', await post({ topic: 'ok.a', data: 1, priority: 'urgent' }), 400, 'bad_request'],
    ['invalid topic', await post({ topic: 'ok..a', data: 1 }), 400, 'invalid_topic'],
    ['a pattern', await post({ topic: 'ok.*', data: 1 }), 400, 'invalid_topic'],
    ['not granted', await post({ topic: 'secret.a', data: 1 }), 403, 'forbidden'],
    ['too big', await post({ topic: 'ok.a', data: 'x'.repeat(70_000) }), 413, 'message_too_big'],
  ];
  for (const [name, response, status, code] of cases) {
    t.equal(response.statusCode, status, `${name}: ${status}`);
    t.match(response.json(), { code, message: String }, `${name}: ${code}`);
  }
});

t.test('POST /publish: 429 with Retry-After while fan-out queues are saturated', async (t) => {
  const KiB = 1024;
  const broker = await startBroker(t, {
    maxQueuedBytes: 256 * KiB,
    maxMessageBytes: 64 * KiB,
    chunkBytes: 64 * KiB,
    httpPublishSaturationBytes: 128 * KiB,
    httpRetryAfterSeconds: 2,
  });
  const slow = await Peer.open(broker.url);
  t.teardown(() => slow.close());
  await slow.subscribe('load');
  slow.pause();
  const post = () =>
    fetch(`${broker.httpUrl}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'load', data: 'x'.repeat(16 * KiB) }),
    });
  let response = await post();
  let accepted = 0;
  while (response.status === 200 && accepted < 2000) {
    accepted++;
    response = await post();
  }
  t.equal(response.status, 429, `refused after ${accepted} accepted publishes`);
  t.equal(response.headers.get('retry-after'), '2');
  t.match(await response.json(), { code: 'rate_limited', retryAfterMs: 2000 });
  t.ok(broker.broker.stats.queuedBytes >= 128 * KiB, 'the node really had that much queued');
  slow.resume();
  await (async () => {
    for (let attempt = 0; attempt < 500 && broker.broker.saturated; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
  })();
  t.equal((await post()).status, 200, 'accepted again once the queues drained');
});

t.test('GET on the WebSocket path without an upgrade: 426', async (t) => {
  const app = await injectedApp(t);
  const response = await app.inject({ url: '/' });
  t.equal(response.statusCode, 426);
  t.equal(response.headers.upgrade, 'websocket');
});
