import { createConnection } from 'node:net';
import t from 'tap';
import { createConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { eventually } from '../helpers/start-broker.js';
import { runSwitchboard } from '../helpers/switchboard-process.js';

/**
 * Graceful shutdown (issue 3): stop accepting, flush queues up to a deadline, then close every client with
 * 4100 ("reconnect now"), spread over a short window; and the real thing, SIGTERM to the `switchboard`
 * process.
 */

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

t.test('stop: refuses new clients, flushes queued messages, then closes everyone with 4100, spread out', async (t) => {
  const server = await startServer(createConfig({ port: 0, logLevel: 'silent', publishRatePerSecond: 0 }), {}, { handleSignals: false });
  t.teardown(() => server.stop());
  const { port } = server.address;
  const subscriber = await Peer.open(server.url);
  const others = await Promise.all([Peer.open(server.url), Peer.open(server.url), Peer.open(server.url)]);
  const publisher = others[0] as Peer;
  await subscriber.subscribe('final');
  const session = server.app.broker.session(subscriber.welcome.connectionId);
  subscriber.pause();
  const payload = 'f'.repeat(16 * 1024);
  let published = 0;
  while ((session?.queue.depth ?? 0) === 0 && published < 1000) {
    await publisher.publish('final', { n: published, payload });
    published++;
  }
  t.ok((session?.queue.depth ?? 0) > 0, `messages are queued for the subscriber (${published} published)`);

  const closedAt = new Map<Peer, number>();
  for (const peer of [subscriber, ...others]) void peer.closed.then(() => closedAt.set(peer, performance.now()));
  const stopping = server.stop({ drainMs: 10_000, spreadMs: 600 });
  t.ok(await connectionRefused(port), 'the listener is closed at once');
  t.equal((await server.app.inject({ url: '/readyz' })).statusCode, 503, 'not ready while draining');
  t.equal(session?.state, 'open', 'connections stay open while their queues flush');
  subscriber.resume();
  await stopping;

  const closes = await Promise.all([subscriber, ...others].map((peer) => peer.waitClosed()));
  t.ok(
    closes.every((close) => close.code === 4100),
    'everyone got 4100 shutdown (reconnect now)',
  );
  t.equal(subscriber.deliveries.length, published, 'the subscriber got every queued message before the close');
  const times = [...closedAt.values()].sort((a, b) => a - b);
  t.ok((times.at(-1) ?? 0) - (times[0] ?? 0) >= 300, 'closes were spread over the window, not sent at once');
  t.equal(server.app.broker.state, 'closed');
});

t.test('stop: a client that never reads does not hold the shutdown past its deadline', async (t) => {
  const server = await startServer(createConfig({ port: 0, logLevel: 'silent', publishRatePerSecond: 0, closeTimeoutMs: 300 }), {}, { handleSignals: false });
  t.teardown(() => server.stop());
  const stuck = await Peer.open(server.url);
  const publisher = await Peer.open(server.url);
  await stuck.subscribe('s');
  const session = server.app.broker.session(stuck.welcome.connectionId);
  stuck.pause();
  for (let index = 0; index < 1000 && (session?.queue.depth ?? 0) === 0; index++) await publisher.publish('s', 'x'.repeat(16 * 1024));
  t.ok((session?.queue.depth ?? 0) > 0);
  const started = performance.now();
  await server.stop({ drainMs: 200, spreadMs: 0 });
  t.ok(performance.now() - started < 8000, 'stop finished after the drain deadline and the close timeout (not waiting for the reader)');
  t.equal(server.app.broker.connectionCount, 0);
  stuck.resume();
  await stuck.waitClosed();
});

t.test('a new upgrade during the drain is refused with 503', async (t) => {
  const server = await startServer(createConfig({ port: 0, logLevel: 'silent' }), {}, { handleSignals: false });
  t.teardown(() => server.stop());
  const peer = await Peer.open(server.url);
  const slow = peer;
  await slow.subscribe('x');
  void server.app.broker.shutdown({ drainMs: 500, spreadMs: 0 });
  const refused = await rawUpgrade(server.address.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1' });
  t.match(refused, { status: 503, body: { code: 'unavailable', message: /shutting down/ } });
  t.match(await peer.waitClosed(), { code: 4100 });
});

t.test('SIGTERM to the switchboard process: clients get 4100 and the process exits 0', async (t) => {
  const child = runSwitchboard(['--port', '0', '--shutdown-spread', '100ms']);
  t.teardown(() => {
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
  });
  await eventually(() => child.output().includes('switchboard broker listening'), 60_000, 'the broker started');
  const url = /"url":"(ws:\/\/[^"]+)"/.exec(child.output())?.[1];
  t.ok(url, `listening at ${url}`);
  const peer = await Peer.open(url as string);
  await peer.subscribe('bye');
  child.process.kill('SIGTERM');
  t.match(await peer.waitClosed(), { code: 4100 });
  t.equal(await child.exited, 0);
  t.match(child.output(), /graceful shutdown/);
});

t.test('the switchboard command: --help lists every flag; bad config stops startup naming the field', async (t) => {
  // Started together: each compiles the TypeScript sources through tsx, which takes a few seconds.
  const help = runSwitchboard(['--help']);
  const badFlag = runSwitchboard(['--port', 'http']);
  const redis = runSwitchboard(['--port', '0'], { REDIS_URL: '127.0.0.1:6390' });
  t.teardown(() => {
    for (const child of [help, badFlag, redis]) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  });

  t.equal(await help.exited, 0);
  t.match(help.output(), /--port \/ PORT/);
  t.match(help.output(), /--max-queued-bytes \/ MAX_QUEUED_BYTES/);
  t.equal(await badFlag.exited, 2);
  t.match(badFlag.output(), /PORT \(--port\): must be an integer/);
  t.equal(await redis.exited, 2);
  t.match(redis.output(), /REDIS_URL \(--redis-url\): must be a redis:\/\/ or rediss:\/\/ URL/);
});
