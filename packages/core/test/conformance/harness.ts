/**
 * The conformance harness: every case is a list of raw frames a peer writes over real TCP and the exact
 * wire outcome RFC 6455 requires of the endpoint under test, run against both of our roles.
 *
 * - Our SERVER (the echo server of test/helpers/echo-peer.ts) is driven by a raw client: a hand-written
 *   upgrade request, then frames from `rawFrame`, masked as §5.3 requires.
 * - Our CLIENT (`connect`, echoing every message back like examples/echo-client.ts) is driven by a raw
 *   server: a hand-written 101 response, then unmasked frames.
 *
 * What comes back is read by a frame reader of this file's own (not src/frame-parser.ts), so the engine is
 * never judged by its own parser. A case ends with the peer's close 1000 unless it closes itself; the
 * expected outcome is then the frames the endpoint sent, the code of its close frame (or a TCP drop with
 * no close frame), that nothing follows the close frame, that the TCP connection ended, and the close code
 * the endpoint's API reported.
 *
 * A case marked `everySplit` is also fed in two writes at every split point and one byte per write, each
 * on a fresh connection, since what the endpoint must do cannot depend on how the bytes arrive: a message
 * and a violation read together must give the same wire outcome as read apart.
 */
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { constants as zlibConstants, createDeflateRaw, deflateRawSync } from 'node:zlib';
import type { Test } from 'tap';
import { connect, Opcode, WEBSOCKET_GUID, type ConnectOptions, type UpgradeOptions, type WebSocket } from '../../src/index.js';
import { startEchoServer } from '../helpers/echo-peer.js';
import { rawFrame, type RawFrame } from '../helpers/frames.js';
import { shown } from '../helpers/hex.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-peer.js';
import { DEFLATE_TAIL, FrameReader, type ReceivedFrame } from './frame-reader.js';

/** The endpoint under test. */
export type Side = 'server' | 'client';

/** A frame the peer writes. `wrongMask` writes it masked to a client and unmasked to a server (§5.1). */
export interface PeerFrame extends RawFrame {
  wrongMask?: boolean;
}

/**
 * A step of the peer: a frame; a pause, so that what follows arrives later in its own TCP segments; or a
 * wait until the endpoint has sent this many frames in all, so that what follows is read only after the
 * endpoint acted on what came before (as Autobahn does between a message and a protocol violation).
 */
export type Step = PeerFrame | { pause: number } | { awaitFrames: number };

export interface ExpectedFrame {
  opcode: number;
  /** @default empty */
  payload?: string | Uint8Array;
  /** @default true */
  fin?: boolean;
  /** The endpoint must send it compressed (RSV1, RFC 7692 §6); `payload` is then the inflated message. */
  compressed?: boolean;
}

export interface Expectation {
  /** What the endpoint sends before its close frame, in order. @default none */
  frames?: ExpectedFrame[];
  /**
   * The code of the endpoint's close frame; null for a close frame without a body (§5.5.1); 'drop' when the
   * endpoint must end the TCP connection without a close frame.
   */
  close: number | null | 'drop';
  /** The close code the endpoint's API reports. @default `close` (1005 for null, 1006 for 'drop') */
  reported?: number;
}

export interface ConformanceCase {
  /** Autobahn's case number where one matches, else the category and a letter. */
  id: string;
  title: string;
  /** What the RFC requires here, which is what the case checks. */
  rfc: string;
  steps: Step[];
  /** Write the peer's bytes in pieces of this size, each in its own TCP segment. */
  chunkSize?: number;
  /**
   * Besides the case as written, feed its bytes in two writes at every split point (with a pause between,
   * so that the endpoint usually reads them apart) and one byte per write. Only for steps that are all frames.
   */
  everySplit?: boolean;
  expect: Expectation;
  /** @default both */
  sides?: readonly Side[];
  /** Options for our server in this case. */
  server?: UpgradeOptions;
  /** Options for our client in this case. */
  client?: ConnectOptions;
  /** Server side: the Sec-WebSocket-Extensions the raw client offers. */
  offer?: string;
  /** Server side: the Sec-WebSocket-Extensions our server must answer ('' for none). */
  expectAnswer?: string;
  /** Client side: the Sec-WebSocket-Extensions the raw server answers with. */
  answer?: string;
}

/** How the peer cuts its bytes into writes. */
interface Feed {
  name: string;
  /** Writes of this size, each in its own TCP segment. */
  chunkSize?: number | undefined;
  /** Two writes, cut here, with a pause between so that the endpoint usually reads them apart. */
  splitAt?: number;
}

/** What a run observed, in the shape the expectation is compared with. */
interface Observed {
  frames: PlainFrame[];
  close: number | null | 'drop';
  afterClose: PlainFrame[];
  tcpClosed: boolean;
  reported: number;
}

interface PlainFrame {
  opcode: number;
  fin: boolean;
  compressed: boolean;
  /** Frames from a client must be masked, frames from a server must not (§5.1). */
  masked: boolean;
  payload: string;
}

/** The masking key of RFC 6455 §5.7's example; the raw client masks every frame with it. */
const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const CASE_TIMEOUT = 15_000;
/** How long the peer waits between the two writes of a split, for the endpoint to read the first alone. */
const SPLIT_PAUSE_MS = 2;
/** Connections a case fed at every split point runs at once. */
const SPLIT_CONCURRENCY = 8;

/** A message compressed as RFC 7692 §7.2.1 sends it, on its own (no context from earlier messages). */
export function deflated(data: string | Uint8Array): Buffer {
  const out = deflateRawSync(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - DEFLATE_TAIL.length);
}

/**
 * Messages compressed by one compressor that keeps its window from message to message (context takeover,
 * RFC 7692 §7.2.3.1): a repeated message becomes a back-reference into the one before.
 */
export async function deflatedWithContext(messages: readonly (string | Uint8Array)[], windowBits = 15): Promise<Buffer[]> {
  const deflate = createDeflateRaw({ windowBits });
  const out: Buffer[] = [];
  for (const message of messages) {
    const chunks: Buffer[] = [];
    const collect = (chunk: Buffer): number => chunks.push(chunk);
    deflate.on('data', collect);
    deflate.write(typeof message === 'string' ? Buffer.from(message, 'utf8') : message);
    await new Promise<void>((resolve) => deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
    deflate.off('data', collect);
    const all = Buffer.concat(chunks);
    out.push(all.subarray(0, all.length - DEFLATE_TAIL.length));
  }
  deflate.close();
  return out;
}

/** Runs every case of `table` against each side it names, one tap subtest per case and side. */
export async function runTable(t: Test, table: readonly ConformanceCase[]): Promise<void> {
  const ids = new Set<string>();
  for (const testCase of table) {
    if (ids.has(testCase.id)) throw new Error(`duplicate case id ${testCase.id}`);
    ids.add(testCase.id);
  }
  for (const side of ['server', 'client'] as const) {
    for (const testCase of table) {
      if (!(testCase.sides ?? ['server', 'client']).includes(side)) continue;
      const feeds = feedsOf(side, testCase);
      const fedAs = feeds.length === 1 ? '' : `, fed ${feeds.length} ways`;
      await t.test(`${side} ${testCase.id} ${testCase.title}${fedAs}: ${outcomeName(testCase.expect)}`, async (t) => {
        const want = expected(side, testCase.expect);
        await inParallel(feeds, SPLIT_CONCURRENCY, async (feed) => {
          const observed = side === 'server' ? await runAgainstServer(t, testCase, feed) : await runAgainstClient(testCase, feed);
          t.same(observed, want, feeds.length === 1 ? testCase.rfc : `${feed.name}: ${testCase.rfc}`);
        });
      });
    }
  }
}

/** The case as written; with `everySplit`, also every two-piece split and one byte per write. */
function feedsOf(side: Side, testCase: ConformanceCase): Feed[] {
  const asWritten: Feed = { name: testCase.chunkSize === undefined ? 'whole' : `${testCase.chunkSize}-byte writes`, chunkSize: testCase.chunkSize };
  if (testCase.everySplit !== true) return [asWritten];
  if (testCase.steps.some((step) => !('opcode' in step))) throw new Error(`case ${testCase.id}: everySplit needs steps that are all frames`);
  const length = peerBytes(side, testCase.steps as PeerFrame[]).length;
  const feeds: Feed[] = [asWritten];
  if (testCase.chunkSize !== undefined) feeds.push({ name: 'whole' });
  for (let splitAt = 1; splitAt < length; splitAt++) feeds.push({ name: `split at ${splitAt}`, splitAt });
  if (testCase.chunkSize !== 1) feeds.push({ name: 'one byte per write', chunkSize: 1 });
  return feeds;
}

/** Runs `run` on every item, at most `limit` at a time; all of them run even if one throws, then the first error is thrown. */
async function inParallel<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++]!).catch((error: unknown) => errors.push(error));
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

/** The bytes the peer writes for `frames`: masked to a server, unmasked to a client, unless `wrongMask`. */
function peerBytes(side: Side, frames: readonly PeerFrame[]): Buffer {
  return Buffer.concat(
    frames.map(({ wrongMask = false, mask = MASK, ...frame }) => {
      const masked = (side === 'server') !== wrongMask;
      return rawFrame(masked ? { ...frame, mask } : frame);
    }),
  );
}

function outcomeName(expect: Expectation): string {
  const echoes = expect.frames?.length ?? 0;
  const replies = echoes === 0 ? '' : `${echoes} frame${echoes === 1 ? '' : 's'} back, `;
  if (expect.close === 'drop') return `${replies}TCP dropped`;
  if (expect.close === 1000) return `${replies}closes normally`;
  return `${replies}${expect.close === null ? 'closes without a code' : `closes with ${expect.close}`}`;
}

function expected(side: Side, expect: Expectation): Observed {
  const masked = side === 'client';
  return {
    frames: (expect.frames ?? []).map((frame) => ({
      opcode: frame.opcode,
      fin: frame.fin ?? true,
      compressed: frame.compressed ?? false,
      masked,
      payload: shown(toBytes(frame.payload ?? '')),
    })),
    close: expect.close,
    afterClose: [],
    tcpClosed: true,
    reported: expect.reported ?? (expect.close === null ? 1005 : expect.close === 'drop' ? 1006 : expect.close),
  };
}

// ---- our server, a raw client -------------------------------------------------------------------------

async function runAgainstServer(t: Test, testCase: ConformanceCase, feed: Feed): Promise<Observed> {
  const server = await startEchoServer({ maxMessageSize: 64 * 1024 * 1024, ...testCase.server });
  t.teardown(() => server.close());
  const extra = testCase.offer === undefined ? {} : { 'Sec-WebSocket-Extensions': testCase.offer };
  const response = await rawRequest(server.port, upgradeRequest('/', extra));
  if (response.status !== 101) throw new Error(`handshake refused: ${response.head}`);
  if (testCase.expectAnswer !== undefined) {
    const answer = /^sec-websocket-extensions: *(.*)$/im.exec(response.head)?.[1] ?? '';
    t.equal(answer, testCase.expectAnswer, 'the server answers the extension offer as RFC 7692 §5 requires');
  }
  const wire = new PeerWire(response.socket, 'server');
  wire.reader.push(response.rest);
  response.socket.resume();
  await wire.play(testCase, feed);
  await wire.ended;
  const reported = await withTimeout(server.closeOf(0), 'the server reported no close');
  return wire.observed(reported.code);
}

// ---- our client, a raw server -------------------------------------------------------------------------

async function runAgainstClient(testCase: ConformanceCase, feed: Feed): Promise<Observed> {
  let accepted!: (wire: PeerWire) => void;
  const wireReady = new Promise<PeerWire>((resolve) => (accepted = resolve));
  const listener = createServer((socket) => {
    readRequestHead(socket).then((head) => {
      const key = /^sec-websocket-key: *(.*)$/im.exec(head)?.[1]?.trim() ?? '';
      const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
      const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`];
      if (testCase.answer !== undefined) lines.push(`Sec-WebSocket-Extensions: ${testCase.answer}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      accepted(new PeerWire(socket, 'client'));
    }, () => socket.destroy());
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = listener.address() as AddressInfo;
    const client = connect(`ws://127.0.0.1:${port}/`, { maxMessageSize: 64 * 1024 * 1024, ...testCase.client });
    client.on('error', () => {
      // Reported through the close code.
    });
    echoEverything(client);
    const reported = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    const wire = await withTimeout(wireReady, 'our client never sent its upgrade request');
    await wire.play(testCase, feed);
    await wire.ended;
    return wire.observed(await withTimeout(reported, 'the client reported no close'));
  } finally {
    listener.close();
  }
}

function echoEverything(websocket: WebSocket): void {
  websocket.on('message', (data, isBinary) => {
    if (websocket.readyState !== 1) return;
    websocket.send(isBinary ? (data as Buffer) : (data as string));
  });
}

function readRequestHead(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      // Our client sends nothing before it has read the 101, so nothing follows the head.
      resolve(received.subarray(0, end).toString('latin1'));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

// ---- the wire, seen from the peer ---------------------------------------------------------------------

/** One TCP connection to the endpoint under test, from the peer's end. */
class PeerWire {
  readonly reader: FrameReader;
  /** Resolves when the TCP connection has fully ended. */
  readonly ended: Promise<void>;
  private tcpClosed = false;

  constructor(
    private readonly socket: Socket,
    private readonly side: Side,
  ) {
    socket.setNoDelay(true);
    this.reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      // §7.1.1: the server closes the TCP connection first; as that server, the peer does so once the
      // client's close frame arrived.
      if (side === 'client' && this.reader.closeFrame !== undefined) socket.end();
    });
    socket.on('error', () => {
      // A write after the endpoint failed the connection may meet a reset; the outcome says what happened.
    });
    // The raw client ends its side when the server ended its own, as §7.1.1 has clients do.
    socket.on('end', () => socket.end());
    this.ended = withTimeout(
      new Promise<void>((resolve) => socket.once('close', () => resolve())),
      'the TCP connection did not end',
      CASE_TIMEOUT,
    ).then(
      () => {
        this.tcpClosed = true;
      },
      () => {
        socket.destroy();
      },
    );
  }

  /**
   * Writes the case's frames; then, unless the case closes itself, waits for the frames it expects back
   * (or a close frame, or the end of TCP) and sends a close 1000, as Autobahn's cases do.
   */
  async play(testCase: ConformanceCase, feed: Feed): Promise<void> {
    await this.write(testCase.steps, feed);
    if (testCase.steps.some((step) => 'opcode' in step && step.opcode === Opcode.close)) return;
    await this.frameCount(testCase.expect.frames?.length ?? 0);
    await this.write([{ opcode: Opcode.close, payload: Buffer.from([0x03, 0xe8]) }], { name: 'whole' });
  }

  /** Resolves once `count` frames came back, or a close frame did, or TCP ended, or after the case timeout. */
  private frameCount(count: number): Promise<void> {
    return new Promise((resolve) => {
      const socket = this.socket;
      const check = (): void => {
        if (this.reader.frames.length >= count || this.reader.closeFrame !== undefined || socket.destroyed) done();
      };
      const done = (): void => {
        clearTimeout(timer);
        socket.off('data', check);
        socket.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, CASE_TIMEOUT);
      socket.on('data', check);
      socket.once('close', done);
      check();
    });
  }

  private async write(steps: readonly Step[], feed: Feed): Promise<void> {
    let pending: PeerFrame[] = [];
    const flush = async (): Promise<void> => {
      const bytes = peerBytes(this.side, pending);
      pending = [];
      const { chunkSize, splitAt } = feed;
      const pieces: Buffer[] = [];
      if (splitAt !== undefined) {
        pieces.push(bytes.subarray(0, splitAt), bytes.subarray(splitAt));
      } else {
        const size = chunkSize ?? bytes.length;
        for (let offset = 0; offset < bytes.length; offset += size) pieces.push(bytes.subarray(offset, offset + size));
      }
      for (const [i, piece] of pieces.entries()) {
        if (i > 0 && splitAt !== undefined) await new Promise((resolve) => setTimeout(resolve, SPLIT_PAUSE_MS));
        if (this.socket.destroyed || !this.socket.writable) return;
        this.socket.write(piece);
        // Let each piece leave in its own segment.
        if (chunkSize !== undefined) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    for (const step of steps) {
      if ('awaitFrames' in step) {
        await flush();
        await this.frameCount(step.awaitFrames);
        continue;
      }
      if ('pause' in step) {
        await flush();
        await new Promise((resolve) => setTimeout(resolve, step.pause));
        continue;
      }
      pending.push(step);
    }
    await flush();
  }

  observed(reported: number): Observed {
    const masked = this.side === 'client';
    const plainOf = (frame: ReceivedFrame): PlainFrame => {
      if (frame.masked !== masked) throw new Error(`a ${this.side} sent a frame with MASK=${frame.masked} (RFC 6455 §5.1)`);
      return { opcode: frame.opcode, fin: frame.fin, compressed: frame.compressed, masked: frame.masked, payload: shown(frame.payload) };
    };
    const all = this.reader.frames;
    const closeAt = all.findIndex((frame) => frame.opcode === Opcode.close);
    const before = closeAt === -1 ? all : all.slice(0, closeAt);
    const closeFrame = closeAt === -1 ? undefined : all[closeAt]!;
    let close: number | null | 'drop' = 'drop';
    if (closeFrame !== undefined) close = closeFrame.payload.length >= 2 ? closeFrame.payload.readUInt16BE(0) : null;
    if (this.reader.error !== undefined) throw new Error(`the endpoint sent bytes that are not frames: ${this.reader.error}`);
    return {
      frames: before.map(plainOf),
      close,
      afterClose: closeAt === -1 ? [] : all.slice(closeAt + 1).map(plainOf),
      tcpClosed: this.tcpClosed,
      reported,
    };
  }
}

function toBytes(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
}

function withTimeout<T>(promise: Promise<T>, message: string, ms = CASE_TIMEOUT): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
