import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { eventually, startBroker } from '../helpers/start-broker.js';

/**
 * Every limit has one documented outcome (README of config.ts; protocol.md §10-§12). Limits whose outcome is
 * an error frame are exercised in errors.test.ts (subscriptions, message size, transfers, chunk timeout,
 * rate); the send-queue cap in slow-consumer.test.ts. Here: the limits that refuse or close.
 */

/** Reads what the server sends on a raw TCP connection until it closes (bounded). */
function readUntilClosed(socket: Socket, timeoutMs: number): Promise<{ text: string; closedAfterMs: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`socket still open after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfterMs: Date.now() - started });
    });
  });
}

t.test('maxConnections: the next upgrade gets 503 unavailable with Retry-After; room again after a close', async (t) => {
  const broker = await startBroker(t, { maxConnections: 2, httpRetryAfterSeconds: 3 });
  const first = await Peer.open(broker.url);
  const second = await Peer.open(broker.url);
  t.teardown(() => second.close());
  const refused = await rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1' });
  t.match(refused, { status: 503, body: { code: 'unavailable' }, headers: { 'retry-after': '3' } });
  await first.close();
  await eventually(() => broker.broker.connectionCount === 1);
  const third = await Peer.open(broker.url);
  t.teardown(() => third.close());
  t.ok(third.welcome.connectionId, 'accepted once a slot is free');
});

t.test('handshake timeout: headers that never finish get 408 and the socket is closed', async (t) => {
  const broker = await startBroker(t, { handshakeTimeoutMs: 400 });
  const socket = createConnection({ host: '127.0.0.1', port: broker.port });
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
  const { text } = await readUntilClosed(socket, 5000);
  t.match(text, /^HTTP\/1\.1 408 /, 'Node answers 408 Request Timeout');
});

t.test('handshake timeout: a TCP connection that sends nothing gets 408 and is closed too', async (t) => {
  const broker = await startBroker(t, { handshakeTimeoutMs: 300 });
  const socket = createConnection({ host: '127.0.0.1', port: broker.port });
  const { text } = await readUntilClosed(socket, 5000);
  t.match(text, /^HTTP\/1\.1 408 /);
});

t.test('handshake timeout: an authentication hook slower than the timeout gets 503', async (t) => {
  const broker = await startBroker(
    t,
    { handshakeTimeoutMs: 300 },
    {
      authenticate: async () => {
        await sleep(2000);
        return { ok: true, identity: { grants: { publish: ['>'], subscribe: ['>'] } } };
      },
    },
  );
  const answer = await rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1' });
  t.match(answer, { status: 503, body: { code: 'unavailable', message: /timed out/ } });
});

t.test('publish rate: after rateLimitCloseAfter rate_limited errors in a row, 4002', async (t) => {
  const broker = await startBroker(t, { publishRatePerSecond: 1, publishRateBurst: 1, rateLimitCloseAfter: 3 });
  const peer = await Peer.open(broker.url);
  t.teardown(() => peer.close());
  for (let index = 0; index < 4; index++) peer.send({ op: 'publish', topic: 'flood', priority: 'normal', data: index });
  const closed = await peer.waitClosed();
  t.equal(closed.code, 4002, 'rate_limited close: reconnect with backoff');
  t.equal(peer.messages.filter((message) => message.op === 'error' && message.code === 'rate_limited').length, 3, 'three rate_limited errors came first');
});

t.test('maxPendingRequests: a connection that piles up requests behind a stalled engine is closed with 4003', async (t) => {
  /** An engine whose subscribes take long: what a remote engine under trouble looks like. */
  class StalledEngine extends MemoryEngine {
    override async subscribe(pattern: string): Promise<void> {
      await sleep(3000);
      return super.subscribe(pattern);
    }
  }
  const broker = await startBroker(t, { maxPendingRequests: 3 }, { engine: new StalledEngine() });
  const peer = await Peer.open(broker.url);
  t.teardown(() => peer.close());
  peer.send({ op: 'subscribe', id: 1, pattern: 'slow' });
  for (let index = 0; index < 5; index++) peer.send({ op: 'ping', id: 10 + index });
  const closed = await peer.waitClosed();
  t.equal(closed.code, 4003, 'unavailable: the node cannot serve the connection');
});

t.test('ping timeout: a peer that stops answering WebSocket pings is closed with 4004', async (t) => {
  const broker = await startBroker(t, { pingIntervalMs: 150 });
  const peer = await Peer.open(broker.url);
  t.teardown(() => peer.close());
  const session = broker.broker.session(peer.welcome.connectionId);
  await sleep(400);
  t.equal(session?.state, 'open', 'a peer that answers pings stays');
  peer.pause();
  await eventually(() => session?.state !== 'open', 5000, 'the broker gave up on the silent peer');
  peer.resume();
  t.match(await peer.waitClosed(), { code: 4004 });
});

t.test('maxPendingGaps: losses on more topics than can be tracked close the slow one with 4001', async (t) => {
  const KiB = 1024;
  const broker = await startBroker(t, { maxQueuedBytes: 128 * KiB, maxMessageBytes: 64 * KiB, chunkBytes: 64 * KiB, maxPendingGaps: 2 });
  const slow = await Peer.open(broker.url);
  const publisher = await Peer.open(broker.url);
  t.teardown(() => Promise.all([slow.close(), publisher.close()]));
  await slow.subscribe('g.*');
  const session = broker.broker.session(slow.welcome.connectionId);
  slow.pause();
  const payload = 'g'.repeat(8 * KiB);
  for (let round = 0; round < 2000 && session?.state === 'open'; round++) {
    await publisher.publish(`g.t${round % 4}`, payload);
  }
  t.not(session?.state, 'open', 'closed once the gaps could no longer be tracked');
  t.ok((session?.queue.pendingGaps ?? 0) <= 2);
  slow.resume();
  t.match(await slow.waitClosed(15_000), { code: 4001 });
});
