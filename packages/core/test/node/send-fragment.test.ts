// WebSocket.sendFragment in both roles: the frames on the wire (RFC 6455 §5.4, RFC 7692 §6.1 with
// permessage-deflate), pings between fragments, misuse, and backpressure as `send` reports it.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { WebSocketServer } from 'ws';
import { connect, encodeMessage, ErrorCode, FrameParser, WEBSOCKET_GUID, type Role, type SendResult, type WebSocket } from '../../src/index.js';
import { startEchoServer } from '../helpers/echo-peer.js';
import { closed, MessageQueue, opened } from '../helpers/events.js';
import { rawRequest, rawServer, upgradeRequest } from '../helpers/raw-peer.js';

interface WireFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: string;
}

/** A raw peer's view of one connection to our endpoint: the frames it received so far, read by FrameParser of its role. */
class RawPeer {
  readonly frames: WireFrame[] = [];
  private readonly parser: FrameParser;
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  constructor(
    readonly socket: Socket,
    ourRole: Role,
    rest: Buffer = Buffer.alloc(0),
  ) {
    this.parser = new FrameParser({ role: ourRole === 'server' ? 'client' : 'server', allowRsv1: true, maxPayloadLength: 1 << 30 });
    socket.on('data', (chunk: Buffer) => this.take(chunk));
    if (rest.length > 0) this.take(rest);
  }

  /** Resolves once `count` frames arrived. */
  received(count: number): Promise<WireFrame[]> {
    if (this.frames.length >= count) return Promise.resolve(this.frames.slice(0, count));
    return new Promise((resolve) => this.waiters.push({ count, resolve: () => resolve(this.frames.slice(0, count)) }));
  }

  private take(chunk: Buffer): void {
    this.parser.push(chunk);
    for (let frame = this.parser.read(); frame !== undefined; frame = this.parser.read()) {
      this.frames.push({ fin: frame.fin, rsv1: frame.rsv1, opcode: frame.opcode, payload: Buffer.from(frame.payload).toString('hex') });
    }
    for (const waiter of [...this.waiters]) {
      if (this.frames.length >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

/**
 * Our endpoint in `role` with a raw peer on the other end: our server behind a hand-written upgrade, or our
 * client against a server that answers 101 by hand. `extensions` is offered (server) or answered (client).
 */
async function endpoint(
  t: Test, role: Role, extensions?: string, options: { highWaterMark?: number; maxBackpressure?: number } = {}): Promise<{ ours: WebSocket; peer: RawPeer }> {
  if (role === 'server') {
    const server = await startEchoServer({ perMessageDeflate: extensions === undefined ? false : { threshold: 0 }, ...options });
    t.teardown(() => server.close());
    const response = await rawRequest(server.port, upgradeRequest('/', extensions === undefined ? {} : { 'Sec-WebSocket-Extensions': extensions }));
    const peer = new RawPeer(response.socket, 'server', response.rest);
    response.socket.resume();
    while (server.connections[0] === undefined) await new Promise((resolve) => setTimeout(resolve, 2));
    const ours = server.connections[0];
    // The echo server answers messages; these tests only send.
    ours.removeAllListeners('message');
    return { ours, peer };
  }
  let accepted!: (peer: RawPeer) => void;
  const peerReady = new Promise<RawPeer>((resolve) => (accepted = resolve));
  const listener = await rawServer((socket) => {
    socket.once('data', (head: Buffer) => {
      const key = /^sec-websocket-key: *(.*)$/im.exec(head.toString('latin1'))?.[1]?.trim() ?? '';
      const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
      const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`];
      if (extensions !== undefined) lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      accepted(new RawPeer(socket, 'client'));
    });
  });
  t.teardown(() => listener.close());
  const ours = connect(`ws://127.0.0.1:${listener.port}/`, { perMessageDeflate: extensions === undefined ? false : { threshold: 0 }, ...options });
  ours.on('error', () => {
    // Outcomes are asserted from the wire.
  });
  await opened(ours);
  return { ours, peer: await peerReady };
}

const hexOf = (text: string): string => Buffer.from(text).toString('hex');

for (const role of ['server', 'client'] as const) {
  t.test(`${role} sends text in fragments with a ping between: three frames, FIN on the last only`, async (t) => {
    const { ours, peer } = await endpoint(t, role);
    const results: SendResult[] = [];
    results.push(ours.sendFragment('Hel', { fin: false }));
    ours.ping(Buffer.from('p'));
    results.push(ours.sendFragment('lo κ', { fin: false }));
    results.push(ours.sendFragment('', { fin: true }));
    t.same(results, ['sent', 'sent', 'sent']);
    t.same(await peer.received(4), [
      { fin: false, rsv1: false, opcode: 0x1, payload: hexOf('Hel') },
      { fin: true, rsv1: false, opcode: 0x9, payload: hexOf('p') },
      { fin: false, rsv1: false, opcode: 0x0, payload: hexOf('lo κ') },
      { fin: true, rsv1: false, opcode: 0x0, payload: '' },
    ]);
    t.equal(ours.send('next'), 'sent', 'a whole message may follow once the last fragment went');
    t.same(await peer.received(5).then((frames) => frames[4]), { fin: true, rsv1: false, opcode: 0x1, payload: hexOf('next') });
  });

  t.test(`${role} sends binary in fragments with permessage-deflate: RSV1 on the first frame only (RFC 7692 §6.1)`, async (t) => {
    const { ours, peer } = await endpoint(t, role, 'permessage-deflate');
    t.match(ours.extensions, /^permessage-deflate/);
    const data = Buffer.from('abcdefgh'.repeat(64));
    ours.sendFragment(data.subarray(0, 100), { fin: false });
    ours.sendFragment(new Uint8Array(data.subarray(100, 300)), { fin: false });
    ours.sendFragment(data.subarray(300).buffer.slice(data.byteOffset + 300, data.byteOffset + data.length), { fin: true });
    const frames = await peer.received(3);
    t.same(
      frames.map(({ fin, rsv1, opcode }) => ({ fin, rsv1, opcode })),
      [
        { fin: false, rsv1: true, opcode: 0x2 },
        { fin: false, rsv1: false, opcode: 0x0 },
        { fin: true, rsv1: false, opcode: 0x0 },
      ],
    );
    const compressed = Buffer.concat([...frames.map((frame) => Buffer.from(frame.payload, 'hex')), Buffer.from([0, 0, 0xff, 0xff])]);
    t.same(inflateRawSync(compressed, { finishFlush: zlibConstants.Z_SYNC_FLUSH }), data, 'node:zlib inflates the payloads to the message');
  });

  t.test(`${role} sends a text message as bytes that split a character, then a binary message started from a string`, async (t) => {
    const { ours, peer } = await endpoint(t, role);
    const text = Buffer.from('κό', 'utf8');
    ours.sendFragment(text.subarray(0, 3), { fin: false, binary: false });
    ours.sendFragment(text.subarray(3), { fin: true });
    ours.sendFragment('as bytes', { fin: false, binary: true });
    ours.sendFragment(Buffer.from([0xff]), { fin: true });
    t.same(
      (await peer.received(4)).map(({ fin, opcode, payload }) => ({ fin, opcode, payload })),
      [
        { fin: false, opcode: 0x1, payload: 'cebacf' },
        { fin: true, opcode: 0x0, payload: '8c' },
        { fin: false, opcode: 0x2, payload: hexOf('as bytes') },
        { fin: true, opcode: 0x0, payload: 'ff' },
      ],
    );
  });

  t.test(`${role} sends a whole message while a fragmented one is open: throws ${ErrorCode.invalidArgument}, the message goes on`, async (t) => {
    const { ours, peer } = await endpoint(t, role);
    ours.sendFragment('open', { fin: false });
    t.throws(() => ours.send('whole'), { code: ErrorCode.invalidArgument }, 'no whole message inside a fragmented one (§5.4)');
    if (role === 'server') {
      t.throws(() => ours.sendFrames(encodeMessage(Buffer.from('shared'), { binary: false })), { code: ErrorCode.invalidArgument }, 'nor shared frames');
    }
    ours.sendFragment(' and closed', { fin: true });
    t.same(
      (await peer.received(2)).map(({ fin, opcode, payload }) => ({ fin, opcode, payload })),
      [
        { fin: false, opcode: 0x1, payload: hexOf('open') },
        { fin: true, opcode: 0x0, payload: hexOf(' and closed') },
      ],
    );
  });
}

t.test('server sendFragment under backpressure: backpressure, then dropped; a dropped fragment can be sent again and the message arrives whole', async (t) => {
  const { ours, peer } = await endpoint(t, 'server', undefined, { highWaterMark: 64 * 1024, maxBackpressure: 256 * 1024 });
  peer.socket.pause();
  const fragment = Buffer.alloc(128 * 1024, 7);
  const results: SendResult[] = [];
  let before = ours.bufferedAmount;
  let counted = true;
  // 32 MiB offered: more than loopback's kernel buffers take, so Node's buffer grows past the limits.
  for (let i = 0; i < 256; i++) {
    const result = ours.sendFragment(fragment, { fin: false });
    results.push(result);
    const after = ours.bufferedAmount;
    // A sent fragment adds its frame (10-byte header) to what Node holds, less what the kernel took meanwhile.
    if (result !== 'dropped' && after > before + fragment.length + 10) counted = false;
    if (result === 'dropped' && after !== before) counted = false;
    before = after;
  }
  t.ok(results.includes('backpressure'), 'backpressure once bufferedAmount reaches highWaterMark');
  t.ok(results.includes('dropped'), 'dropped once it is over maxBackpressure');
  t.ok(counted, 'a sent fragment counts in bufferedAmount, a dropped one does not');
  t.ok(ours.bufferedAmount < 256 * 1024 + fragment.length + 100, `the buffer stays within one fragment of the limit (${ours.bufferedAmount})`);
  const sent = results.filter((result) => result !== 'dropped').length;

  const drained = new Promise<void>((resolve) => ours.once('drain', () => resolve()));
  peer.socket.resume();
  await drained;
  t.equal(ours.sendFragment(Buffer.from('end'), { fin: true }), 'sent', 'after drain the message is finished');
  const frames = await peer.received(sent + 1);
  t.same(
    frames.map((frame) => `${frame.opcode}${frame.fin ? ' fin' : ''} ${frame.payload.length / 2}`),
    [`2 ${fragment.length}`, ...Array.from({ length: sent - 1 }, () => `0 ${fragment.length}`), '0 fin 3'],
    `one message of ${sent} fragments and the last: nothing of the dropped ones`,
  );
});

t.test('our client sends fragments to the ws package, with and without permessage-deflate: it receives them whole', async (t) => {
  for (const deflate of [false, true]) {
    await t.test(deflate ? 'deflate' : 'plain', async (t) => {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate });
      wss.on('connection', (peer) => peer.on('message', (data, isBinary) => peer.send(data, { binary: isBinary })));
      await new Promise((resolve) => wss.once('listening', resolve));
      t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
      const { port } = wss.address() as AddressInfo;
      const client = connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate ? { threshold: 0 } : false });
      const messages = new MessageQueue(client);
      await opened(client);
      client.sendFragment('fragmented ', { fin: false });
      client.ping();
      client.sendFragment('κόσμε', { fin: true });
      t.same(await messages.next(5000), { data: 'fragmented κόσμε', isBinary: false });
      client.close(1000);
      t.same(await closed(client), { code: 1000, reason: '', wasClean: true });
    });
  }
});
