// The Node adapter's own duties: bufferedAmount and drain, close and keepalive timeouts, and the client's
// handshake failures. The protocol rules themselves are tested sans-I/O in protocol.test.ts.
import t from 'tap';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { connect, encodeMessage, ErrorCode, FrameParser, type WebSocket } from '../../src/index.js';
import { startEchoServer } from '../helpers/echo-peer.js';
import { closed, opened } from '../helpers/events.js';
import { closeBody, rawFrame } from '../helpers/frames.js';
import { rawRequest, rawServer, untilClosed, upgradeRequest } from '../helpers/raw-peer.js';

function nextConnection(server: Awaited<ReturnType<typeof startEchoServer>>, index: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const poll = (): void => {
      const websocket = server.connections[index];
      if (websocket !== undefined) return resolve(websocket);
      if (Date.now() > deadline) return reject(new Error('no server connection'));
      setTimeout(poll, 5);
    };
    poll();
  });
}

t.test('bufferedAmount counts what the kernel has not taken, and drain fires when it empties', async (t) => {
  const server = await startEchoServer({ highWaterMark: 64 * 1024 });
  t.teardown(() => server.close());
  const response = await rawRequest(server.port, upgradeRequest());
  t.equal(response.status, 101);
  const serverSide = await nextConnection(server, 0);

  // The raw peer reads nothing (its socket is paused), so the kernel buffers fill and Node keeps the rest.
  const chunk = Buffer.alloc(1024 * 1024, 1);
  const results = new Set<string>();
  for (let i = 0; i < 16; i++) results.add(serverSide.send(chunk));
  t.ok(results.has('backpressure'), 'send reports backpressure');
  t.ok(serverSide.bufferedAmount > 1024 * 1024, `bufferedAmount ${serverSide.bufferedAmount} holds the unsent bytes`);
  t.ok(serverSide.bufferedAmount <= 16 * (1024 * 1024 + 10), 'and never more than was sent');

  const drained = new Promise<void>((resolve) => serverSide.once('drain', () => resolve()));
  response.socket.resume();
  await drained;
  t.equal(serverSide.bufferedAmount, 0, 'bufferedAmount is 0 after drain');
  response.socket.destroy();
});

t.test('sendFrames: frames sent in one loop iteration are held (corked) and leave together at its check phase', async (t) => {
  const server = await startEchoServer();
  t.teardown(() => server.close());
  const response = await rawRequest(server.port, upgradeRequest());
  const serverSide = await nextConnection(server, 0);
  const frames = Array.from({ length: 100 }, (_, n) => encodeMessage(Buffer.from(`delivery ${n}`), { binary: false }));
  const total = frames.reduce((sum, frame) => sum + Buffer.concat(frame).length, 0);
  for (const frame of frames) t.equal(serverSide.sendFrames(frame), 'sent');
  // Without the cork each frame would reach the kernel at once and bufferedAmount would stay 0.
  t.equal(serverSide.bufferedAmount, total, 'every frame of this iteration still in Node, as one batch');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(serverSide.bufferedAmount, 0, 'written in the check phase that followed');

  const parser = new FrameParser({ role: 'client', allowRsv1: false, maxPayloadLength: 1024 });
  const texts: string[] = [];
  let received = 0;
  response.socket.resume();
  await new Promise<void>((resolve) => {
    const take = (chunk: Buffer): void => {
      received += chunk.length;
      parser.push(chunk);
      for (let frame = parser.read(); frame !== undefined; frame = parser.read()) texts.push(frame.payload.toString());
      if (received >= total) resolve();
    };
    if (response.rest.length > 0) take(response.rest);
    response.socket.on('data', take);
  });
  t.same(texts, frames.map((_, n) => `delivery ${n}`), 'the peer gets every frame, in order');
  response.socket.destroy();
});

t.test('sendFrames: a socket that reaches the high-water mark is uncorked at once, not at the check phase', async (t) => {
  const server = await startEchoServer({ highWaterMark: 1024 });
  t.teardown(() => server.close());
  const response = await rawRequest(server.port, upgradeRequest());
  const serverSide = await nextConnection(server, 0);
  const frame = encodeMessage(Buffer.alloc(100, 0x61), { binary: false });
  let sends = 0;
  while (serverSide.sendFrames(frame) === 'sent') sends++;
  t.equal(sends, 10, '10 frames of 102 bytes stay under the 1024-byte mark, the 11th reaches it');
  // An overloaded poll phase can run long; bytes held corked until it ends would pile up without bound.
  t.equal(serverSide.bufferedAmount, 0, 'handed to the kernel when sendFrames answered backpressure');
  t.equal(serverSide.sendFrames(frame), 'sent', 'later frames of the iteration are corked again');
  t.equal(serverSide.bufferedAmount, 102, 'and held until the check phase');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(serverSide.bufferedAmount, 0);
  response.socket.destroy();
});

t.test('maxBackpressure: send drops while the buffer is over the limit', async (t) => {
  const server = await startEchoServer({ maxBackpressure: 256 * 1024 });
  t.teardown(() => server.close());
  const response = await rawRequest(server.port, upgradeRequest());
  const serverSide = await nextConnection(server, 0);
  const results: string[] = [];
  // 32 MiB in all: more than loopback's kernel buffers can take, so Node's buffer must grow.
  for (let i = 0; i < 256; i++) results.push(serverSide.send(Buffer.alloc(128 * 1024)));
  t.ok(results.includes('dropped'), 'later sends are dropped');
  t.ok(serverSide.bufferedAmount < 256 * 1024 + 128 * 1024 + 100, `buffer stays within one message of the limit (${serverSide.bufferedAmount})`);
  response.socket.destroy();
});

t.test('server closes and the peer never answers: the socket is destroyed after closeTimeout', async (t) => {
  const server = await startEchoServer({ closeTimeout: 200 });
  t.teardown(() => server.close());
  const response = await rawRequest(server.port, upgradeRequest());
  const serverSide = await nextConnection(server, 0);
  response.socket.on('data', () => {}); // reads, but never sends a close frame back
  response.socket.resume();
  serverSide.close(1000, 'done');
  const event = await closed(serverSide);
  t.same(event, { code: 1006, reason: '', wasClean: false }, 'abnormal closure reported');
  response.socket.destroy();
});

t.test('the peer ends its side of TCP without a close frame: the server ends its side too and reports 1006', async (t) => {
  const server = await startEchoServer({ closeTimeout: 10_000 });
  t.teardown(() => server.close());
  const response = await rawRequest(server.port, upgradeRequest());
  const serverSide = await nextConnection(server, 0);
  const peerSawEnd = new Promise<boolean>((resolve) => {
    response.socket.once('end', () => resolve(true));
    setTimeout(() => resolve(false), 5000).unref();
  });
  response.socket.resume();
  response.socket.end(); // a FIN, and the socket stays readable: half-open
  const event = await closed(serverSide);
  t.same(event, { code: 1006, reason: '', wasClean: false }, 'abnormal closure reported');
  t.ok(await peerSawEnd, 'the server answered the FIN with its own, long before closeTimeout');
  response.socket.destroy();
});

t.test('keepalive: a silent peer is closed after a ping interval without data', async (t) => {
  const server = await startEchoServer({ pingInterval: 100 });
  t.teardown(() => server.close());
  const response = await rawRequest(server.port, upgradeRequest());
  const serverSide = await nextConnection(server, 0);
  const errors: string[] = [];
  serverSide.on('error', (error) => errors.push(error.code));
  const received = untilClosed(response.socket);
  const event = await closed(serverSide, 5000);
  t.equal(event.wasClean, false);
  t.same(errors, [ErrorCode.keepaliveTimeout]);
  const bytes = await received;
  t.equal(bytes[0], 0x89, 'the peer was pinged first');
});

t.test('keepalive with keepaliveClose: a silent peer gets a close frame with that code, error first', async (t) => {
  const server = await startEchoServer({ pingInterval: 100, closeTimeout: 300, keepaliveClose: { code: 4004, reason: 'no answer to ping' } });
  t.teardown(() => server.close());
  const response = await rawRequest(server.port, upgradeRequest());
  const serverSide = await nextConnection(server, 0);
  const seen: string[] = [];
  serverSide.on('error', (error) => seen.push(`error ${error.code} ${error.closeCode} while readyState ${serverSide.readyState}`));
  const received = untilClosed(response.socket);
  const event = await closed(serverSide, 5000);
  t.same(seen, [`error ${ErrorCode.keepaliveTimeout} 4004 while readyState 1`], 'the error comes first, the connection still open');
  const parser = new FrameParser({ role: 'client', allowRsv1: false, maxPayloadLength: 1024 });
  parser.push(await received);
  const frames = [];
  for (let frame = parser.read(); frame !== undefined; frame = parser.read()) frames.push(frame);
  t.same(
    frames.map((frame) => [frame.opcode, Buffer.from(frame.payload).toString('hex')]),
    [
      [0x9, ''],
      [0x8, closeBody(4004, 'no answer to ping').toString('hex')],
    ],
    'a ping, then a close frame with 4004 and the reason',
  );
  t.equal(event.wasClean, false, 'the peer never answered: the close timeout ended it');
});

t.test('keepaliveClose with a code that may not be sent: refused when the WebSocket is made', async (t) => {
  t.throws(() => connect('ws://127.0.0.1:9/', { pingInterval: 100, keepaliveClose: { code: 1006, reason: '' } }), { code: ErrorCode.invalidArgument });
  t.throws(() => connect('ws://127.0.0.1:9/', { keepaliveClose: { code: 4004, reason: 'x'.repeat(124) } }), { code: ErrorCode.invalidArgument });
});

t.test('keepalive: a peer that answers pings stays connected', async (t) => {
  const server = await startEchoServer({ pingInterval: 50 });
  t.teardown(() => server.close());
  const client = connect(server.url);
  await opened(client);
  const serverSide = await nextConnection(server, 0);
  let pongs = 0;
  serverSide.on('pong', () => pongs++);
  await new Promise((resolve) => setTimeout(resolve, 400));
  t.equal(serverSide.readyState, 1, 'still open');
  t.ok(pongs >= 3, `our client answered ${pongs} pings`);
  client.close(1000);
  await closed(client);
});

t.test('client handshake failures end in error then close 1006', async (t) => {
  const cases: [string, (socket: import('node:net').Socket) => void, string][] = [
    ['server answers 403', (socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'), ErrorCode.handshakeRejected],
    [
      'server sends a wrong Sec-WebSocket-Accept',
      (socket) => socket.once('data', () => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n')),
      ErrorCode.handshakeInvalid,
    ],
    ['server never answers', () => {}, ErrorCode.handshakeTimeout],
  ];
  for (const [name, behave, code] of cases) {
    await t.test(name, async (t) => {
      const peer = await rawServer(behave);
      t.teardown(() => peer.close());
      const client = connect(`ws://127.0.0.1:${peer.port}/`, { handshakeTimeout: 300 });
      const errors: string[] = [];
      const statuses: (number | undefined)[] = [];
      client.on('error', (error) => {
        errors.push(error.code);
        statuses.push(error.status);
      });
      const event = await closed(client);
      t.equal(event.code, 1006);
      t.same(errors, [code]);
      t.same(statuses, [code === ErrorCode.handshakeRejected ? 403 : undefined], 'the HTTP status of a refused handshake');
    });
  }
});

t.test('client fails when the server picks a subprotocol it did not offer', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'other.v1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const { port } = wss.address() as AddressInfo;
  const client = connect(`ws://127.0.0.1:${port}/`, { protocols: ['pubsub.v1'] });
  const errors: string[] = [];
  client.on('error', (error) => errors.push(error.code));
  const event = await closed(client);
  t.equal(event.code, 1006);
  t.same(errors, [ErrorCode.unexpectedProtocol]);
});

t.test('our client talks to the ws package server', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
  wss.on('connection', (peer) => peer.on('message', (data, isBinary) => peer.send(data, { binary: isBinary })));
  await new Promise((resolve) => wss.once('listening', resolve));
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const { port } = wss.address() as AddressInfo;
  const client = connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: { threshold: 0 } });
  await opened(client);
  t.match(client.extensions, /^permessage-deflate/, 'deflate negotiated with ws');
  const echoes: unknown[] = [];
  const done = new Promise<void>((resolve) =>
    client.on('message', (data, isBinary) => {
      echoes.push(isBinary ? Buffer.from(data as Buffer).toString('hex') : data);
      if (echoes.length === 3) resolve();
    }),
  );
  client.send('κόσμε');
  client.send(new Uint8Array([0, 255]));
  client.send('x'.repeat(100_000));
  await done;
  t.same(echoes, ['κόσμε', '00ff', 'x'.repeat(100_000)]);
  client.close(1000);
  t.same(await closed(client), { code: 1000, reason: '', wasClean: true });
});

t.test('a message and a close frame in one TCP read: the message handler already sees CLOSING', async (t) => {
  // The protocol answers the close frame while reading the chunk, before the message is emitted; send()
  // would throw ERR_WS_NOT_OPEN there, so readyState must not say OPEN to the handler.
  const server = await startEchoServer();
  t.teardown(() => server.close());
  const response = await rawRequest(server.port, upgradeRequest());
  const serverSide = await nextConnection(server, 0);
  const states: number[] = [];
  serverSide.prependListener('message', () => states.push(serverSide.readyState));
  const received = untilClosed(response.socket);
  const mask = Buffer.from([1, 2, 3, 4]);
  response.socket.write(Buffer.concat([rawFrame({ opcode: 0x1, payload: 'hi', mask }), rawFrame({ opcode: 0x8, payload: closeBody(1000), mask })]));
  const event = await closed(serverSide);
  t.same(states, [2], 'the handler ran in CLOSING, and the echo peer did not send');
  t.equal(event.code, 1000);
  const bytes = await received;
  t.equal(bytes.toString('hex'), '880203e8', 'only the close frame went out');
});

t.test('a message and a protocol violation in one TCP read: the handler sees OPEN, its reply precedes the close frame', async (t) => {
  // Autobahn 3.2, 4.1.3 ... "strict": the connection fails at the violation, but only after the message
  // before it was delivered and answered, as if the two frames had been read apart.
  const server = await startEchoServer();
  t.teardown(() => server.close());
  const response = await rawRequest(server.port, upgradeRequest());
  const serverSide = await nextConnection(server, 0);
  const seen: string[] = [];
  serverSide.prependListener('message', () => seen.push(`message in readyState ${serverSide.readyState}`));
  serverSide.on('error', (error) => seen.push(`error ${error.code} in readyState ${serverSide.readyState}`));
  const received = untilClosed(response.socket);
  const mask = Buffer.from([1, 2, 3, 4]);
  response.socket.write(Buffer.concat([rawFrame({ opcode: 0x1, payload: 'hi', mask }), rawFrame({ opcode: 0x3, mask }), rawFrame({ opcode: 0x9, mask })]));
  const event = await closed(serverSide);
  t.same(seen, ['message in readyState 1', `error ${ErrorCode.invalidOpcode} in readyState 2`], 'the handler ran in OPEN, the error came after it');
  t.same(event, { code: 1002, reason: event.reason, wasClean: false });
  const bytes = await received;
  t.equal(bytes.toString('hex'), '81026869' + '880203ea', 'the echo, then the close frame; the ping after the violation is never answered');
});
