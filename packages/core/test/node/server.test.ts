// handleUpgrade over real sockets: rejected handshakes get an HTTP answer and a closed socket, accepted
// ones speak RFC 6455; works on a fastify server too. checkUpgrade and completeUpgrade split it in two.
import t from 'tap';
import Fastify from 'fastify';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket as WsClient } from 'ws';
import { checkUpgrade, completeUpgrade, connect, handleUpgrade, rejectUpgrade, type ServerHandshake, type WebSocket } from '../../src/index.js';
import { closed, opened } from '../helpers/events.js';
import { startEchoServer } from '../helpers/echo-peer.js';
import { rawRequest, untilClosed, upgradeRequest } from '../helpers/raw-peer.js';

t.test('server handshake over TCP', async (t) => {
  const server = await startEchoServer({ protocols: ['pubsub.v1'], verifyOrigin: (origin) => origin !== 'https://evil.example' });
  t.teardown(() => server.close());

  await t.test('server receives the RFC example key: 101 with the RFC accept value', async (t) => {
    const response = await rawRequest(server.port, upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'chat, pubsub.v1' }));
    t.equal(response.status, 101);
    t.match(response.head, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=(\r\n|$)/i);
    t.match(response.head, /\r\nSec-WebSocket-Protocol: pubsub\.v1(\r\n|$)/i);
    response.socket.destroy();
  });

  const rejections: [string, string, number, RegExp?][] = [
    ['version 8', upgradeRequest('/', { 'Sec-WebSocket-Version': '8' }), 426, /\r\nSec-WebSocket-Version: 13/i],
    ['no version', upgradeRequest('/', { 'Sec-WebSocket-Version': undefined }), 426, /\r\nSec-WebSocket-Version: 13/i],
    ['a POST', upgradeRequest('/', {}, 'POST'), 405, /\r\nAllow: GET/i],
    ['a key of 15 bytes', upgradeRequest('/', { 'Sec-WebSocket-Key': Buffer.alloc(15).toString('base64') }), 400],
    ['no key', upgradeRequest('/', { 'Sec-WebSocket-Key': undefined }), 400],
    ['Upgrade: h2c', upgradeRequest('/', { Upgrade: 'h2c' }), 400],
    ['a forbidden Origin', upgradeRequest('/', { Origin: 'https://evil.example' }), 403],
  ];
  for (const [name, request, status, header] of rejections) {
    await t.test(`server receives ${name}: ${status} and the socket is closed`, async (t) => {
      const response = await rawRequest(server.port, request);
      t.equal(response.status, status);
      if (header) t.match(response.head, header);
      t.match(response.head, /\r\nConnection: close/i);
      await untilClosed(response.socket);
    });
  }

  await t.test('server receives Connection: keep-alive, Upgrade (a token list, any case): 101', async (t) => {
    const response = await rawRequest(server.port, upgradeRequest('/', { Connection: 'keep-alive, UPGRADE', Upgrade: 'WebSocket' }));
    t.equal(response.status, 101);
    response.socket.destroy();
  });
});

t.test('the ws package as a client of our server, and our server on fastify', async (t) => {
  const app = Fastify();
  app.get('/healthz', async () => ({ ok: true }));
  app.server.on('upgrade', (request, socket, head) => {
    const websocket = handleUpgrade(request, socket, head, { protocols: ['pubsub.v1'] });
    websocket?.on('message', (data, isBinary) => websocket.send(isBinary ? (data as Buffer) : `echo:${data as string}`));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const { port } = app.server.address() as AddressInfo;

  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.same(await health.json(), { ok: true }, 'fastify routes still answer');

  const client = new WsClient(`ws://127.0.0.1:${port}/`, ['pubsub.v1']);
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  t.equal(client.protocol, 'pubsub.v1');
  const replies: [string, boolean][] = [];
  const done = new Promise<void>((resolve) =>
    client.on('message', (data, isBinary) => {
      replies.push([isBinary ? (data as Buffer).toString('hex') : data.toString(), isBinary]);
      if (replies.length === 2) resolve();
    }),
  );
  client.send('hi');
  client.send(Buffer.from([1, 2, 3]));
  await done;
  t.same(replies, [['echo:hi', false], ['010203', true]]);
  const closed = new Promise<[number, string]>((resolve) => client.once('close', (code, reason) => resolve([code, reason.toString()])));
  client.close(4321, 'bye');
  t.same(await closed, [4321, ''], 'ws sees our echo of its close code');
});

t.test('checkUpgrade then completeUpgrade: the server decides first, runs its own checks, then answers', async (t) => {
  const decided: ServerHandshake[] = [];
  const accepted: WebSocket[] = [];
  const server = createServer();
  server.on('upgrade', (request, socket, head) => {
    const options = { protocols: ['pubsub.v1'], perMessageDeflate: {}, verifyOrigin: (origin: string | undefined) => origin !== 'https://evil.example' };
    const handshake = checkUpgrade(request, options);
    decided.push(handshake);
    // The server's own check, between deciding and answering: a path it does not serve.
    if (handshake.accepted && request.url === '/closed') {
      rejectUpgrade(socket, 503, '{"code":"unavailable"}', { 'Content-Type': 'application/json', 'Retry-After': '5' });
      return;
    }
    const websocket = completeUpgrade(request, socket, head, handshake, options);
    if (websocket !== undefined) accepted.push(websocket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;

  await t.test('an acceptance: known before any byte is written, then the 101 and an open WebSocket', async (t) => {
    const request = upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'chat, pubsub.v1', 'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=10' });
    const response = await rawRequest(port, request);
    t.equal(response.status, 101);
    t.match(decided.at(-1), { accepted: true, protocol: 'pubsub.v1', deflate: { serverMaxWindowBits: 10, serverNoContextTakeover: true } });
    t.equal(accepted.length, 1);
    t.same(accepted[0]?.deflate, { serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 15 }, 'websocket.deflate');
    response.socket.destroy();
  });

  await t.test("a refusal: core's status, written by completeUpgrade", async (t) => {
    const response = await rawRequest(port, upgradeRequest('/', { Origin: 'https://evil.example' }));
    t.equal(response.status, 403);
    t.match(decided.at(-1), { accepted: false, status: 403, reason: 'Origin not allowed' });
    await untilClosed(response.socket);
  });

  await t.test("the server's own refusal: rejectUpgrade with a JSON body and Retry-After", async (t) => {
    const response = await rawRequest(port, upgradeRequest('/closed'));
    t.equal(response.status, 503);
    t.equal(
      response.head,
      'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 22\r\nRetry-After: 5',
    );
    t.equal(Buffer.concat([response.rest, await untilClosed(response.socket)]).toString(), '{"code":"unavailable"}');
  });
});

t.test("the 101 and what the server sends in the same tick leave in one write (the broker's welcome)", async (t) => {
  const writes: string[] = [];
  const server = createServer();
  server.on('upgrade', (request, socket: Duplex, head) => {
    const write = socket.write;
    socket.write = function (this: Duplex, ...args: Parameters<Duplex['write']>) {
      writes.push(Buffer.from(args[0] as string | Uint8Array).toString('latin1'));
      return write.apply(this, args);
    } as Duplex['write'];
    const websocket = completeUpgrade(request, socket, head, checkUpgrade(request, {}));
    websocket?.send('welcome');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const response = await rawRequest((server.address() as AddressInfo).port, upgradeRequest('/'));
  t.equal(response.status, 101);
  t.equal(writes.length, 1, 'one write');
  t.match(writes[0], /^HTTP\/1\.1 101 [^]*\r\n\r\n\x81\x07welcome$/, 'the 101, then the frame');
  response.socket.destroy();
});

t.test('websocket.deflate: the agreed permessage-deflate on both sides, undefined without one', async (t) => {
  const server = await startEchoServer({ perMessageDeflate: { clientMaxWindowBits: 12 } });
  t.teardown(() => server.close());
  const client = connect(server.url, { perMessageDeflate: {} });
  await opened(client);
  const agreed = { serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 12 };
  t.same(client.deflate, agreed, 'the client');
  t.same(server.connections[0]?.deflate, agreed, 'the server');
  const plain = connect(server.url);
  await opened(plain);
  t.equal(plain.deflate, undefined, 'a client that offered none');
  t.equal(server.connections[1]?.deflate, undefined, 'and its server side');
  client.close(1000);
  plain.close(1000);
  await Promise.all([closed(client), closed(plain)]);
});
