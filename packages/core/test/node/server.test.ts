// handleUpgrade over real sockets: rejected handshakes get an HTTP answer and a closed socket, accepted
// ones speak RFC 6455; works on a fastify server too.
import t from 'tap';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { WebSocket as WsClient } from 'ws';
import { handleUpgrade } from '../../src/index.js';
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
