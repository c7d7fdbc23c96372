// The sans-I/O layer on a platform that is not Node's: web-standard APIs only, no Buffer. Whatever the
// protocol hands out must then be plain Uint8Arrays from this platform, which shows that every byte it
// allocates, decodes or hashes goes through the injected Platform rather than Node.
import t from 'tap';
import { createHash } from 'node:crypto';
import {
  CloseCode,
  Opcode,
  Protocol,
  acceptHandshake,
  createClientHandshake,
  encodeFrame,
  generateKey,
  randomBytesFrom,
  validateServerResponse,
  type HeaderMap,
  type Platform,
  type ProtocolEvent,
} from '../../src/sans-io.js';

/** A platform a browser could offer (SHA-1 aside: the web has no synchronous one, so the test brings it). */
function webPlatform(): Platform & { allocations: number } {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const validator = new TextDecoder('utf-8', { fatal: true });
  const encoder = new TextEncoder();
  const platform = {
    allocations: 0,
    alloc: (size: number) => {
      platform.allocations++;
      return new Uint8Array(size);
    },
    encodeUtf8: (text: string) => encoder.encode(text),
    decodeUtf8: (bytes: Uint8Array) => decoder.decode(bytes),
    isUtf8: (bytes: Uint8Array) => {
      try {
        validator.decode(bytes);
        return true;
      } catch {
        return false;
      }
    },
    randomFill: (bytes: Uint8Array) => {
      // Only a SharedArrayBuffer view would be refused; the protocol never hands one over.
      crypto.getRandomValues(bytes as Uint8Array<ArrayBuffer>);
    },
    sha1: (data: Uint8Array) => new Uint8Array(createHash('sha1').update(data).digest()),
    createDeflateRaw: () => {
      throw new Error('no synchronous deflate on this platform');
    },
    createInflateRaw: () => {
      throw new Error('no synchronous inflate on this platform');
    },
  };
  return platform;
}

/** Moves everything `from` wants to send into `to`, one byte at a time so payloads arrive split. */
function deliver(from: Protocol, to: Protocol): ProtocolEvent[] {
  for (const chunk of from.dataToSend()) {
    for (let i = 0; i < chunk.length; i++) to.receiveData(chunk.slice(i, i + 1));
  }
  return to.eventsReceived();
}

t.test('a client and a server on a web platform exchange messages: bytes are the platform’s, not Buffers', async (t) => {
  const platform = webPlatform();
  const client = new Protocol({ role: 'client', platform });
  const server = new Protocol({ role: 'server', platform });
  client.sendText('héllo, wörld');
  client.sendBinary(Uint8Array.of(1, 2, 3, 4, 5));
  client.sendPing(Uint8Array.of(9));
  const received = deliver(client, server);
  t.same(
    received.map((event) => event.type),
    ['text', 'binary', 'ping'],
  );
  t.equal(received[0]?.type === 'text' && received[0].data, 'héllo, wörld', 'text decoded by the platform');
  for (const event of received) {
    if (event.type === 'binary' || event.type === 'ping') {
      t.notOk(Buffer.isBuffer(event.data), `${event.type} data is a plain Uint8Array`);
      t.equal(event.data.constructor, Uint8Array);
    }
  }
  t.ok(platform.allocations > 0, `the platform allocated (${platform.allocations} times)`);
  for (const chunk of server.dataToSend()) t.notOk(Buffer.isBuffer(chunk), 'the pong is framed in platform bytes');

  server.sendClose(CloseCode.normal, 'bye');
  const closing = deliver(server, client);
  t.same(closing, [{ type: 'close', code: CloseCode.normal, reason: 'bye' }]);
});

t.test('invalid UTF-8 is found by the platform’s validator: 1007', async (t) => {
  const server = new Protocol({ role: 'server', platform: webPlatform() });
  const mask = Uint8Array.of(0, 0, 0, 0);
  for (const frame of encodeFrame({ fin: true, opcode: Opcode.text, payload: Uint8Array.of(0xc0, 0x80), mask }, webPlatform())) {
    server.receiveData(frame);
  }
  t.match(server.eventsReceived(), [{ type: 'error', error: { closeCode: CloseCode.invalidPayload } }]);
});

t.test('the opening handshake on a web platform: key, accept and response check', async (t) => {
  const platform = webPlatform();
  t.match(generateKey(randomBytesFrom(platform)), /^[A-Za-z0-9+/]{21}[AQgw]==$/);
  const request = createClientHandshake({ protocols: ['pubsub.v1'] }, platform);
  const headers: HeaderMap = { host: 'example' };
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  const answer = acceptHandshake({ method: 'GET', httpVersion: '1.1', headers }, { protocols: ['pubsub.v1'] }, platform);
  if (!answer.accepted) return t.fail(`refused: ${answer.reason}`);
  const accept = /Sec-WebSocket-Accept: (\S+)/.exec(answer.response)?.[1];
  const response = { statusCode: 101, headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': accept, 'sec-websocket-protocol': 'pubsub.v1' } };
  t.match(validateServerResponse(response, request, platform), { ok: true, protocol: 'pubsub.v1' });
});
