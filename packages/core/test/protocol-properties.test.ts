import fc from 'fast-check';
import t from 'tap';
import type { Role } from '../src/constants.js';
import { ErrorCode } from '../src/errors.js';
import { PerMessageDeflate, Protocol, type DeflateParams, type MessageCompressor, type ProtocolEvent } from '../src/index.js';
import { closeBody, rawFrame } from './helpers/frames.js';
import { shown, toHex } from './helpers/hex.js';
import { allEventsReceived, fixedMask, ownFrameHex, plain, type PlainEvent } from './helpers/sans-io.js';

const roles: Role[] = ['client', 'server'];
const peerOf = (role: Role): Role => (role === 'client' ? 'server' : 'client');

/**
 * The extension configurations every round trip runs under. permessage-deflate joins this list when it is
 * integrated: one entry whose `compressors` returns a negotiated pair for the two sides (the
 * `MessageCompressor` each side's Protocol gets), and every round-trip property below then also runs
 * compressed, with nothing else to change.
 */
interface Variant {
  name: string;
  compressors(senderRole: Role, receiverRole: Role): { sender: MessageCompressor | undefined; receiver: MessageCompressor | undefined };
}

/** A negotiated permessage-deflate pair; threshold 0 so every whole message is compressed. */
function deflatePair(params: DeflateParams): Variant['compressors'] {
  return (senderRole, receiverRole) => ({
    sender: new PerMessageDeflate(senderRole, params, { threshold: 0 }),
    receiver: new PerMessageDeflate(receiverRole, params, { threshold: 0, maxInflatedSize: 1 << 24 }),
  });
}

const variants: Variant[] = [
  { name: 'no extension', compressors: () => ({ sender: undefined, receiver: undefined }) },
  {
    name: 'permessage-deflate with context takeover',
    compressors: deflatePair({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }),
  },
  {
    name: 'permessage-deflate, no context takeover, 9-bit windows',
    compressors: deflatePair({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 }),
  },
];

// ---- arbitraries --------------------------------------------------------------------------------------

/** Sizes at the length-form boundaries (§5.2) and small ones. */
const size = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 125, 126, 127, 65535, 65536, 65537) },
  { weight: 4, arbitrary: fc.nat(300) },
);

/** Deterministic filler bytes from a seed: fast for 64 KiB, unlike one arbitrary per byte. */
function fill(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Text of exactly `bytes` UTF-8 bytes, cycling through the code points of `seed` (multi-byte included). */
function textOfSize(bytes: number, seed: string): string {
  const points = [...seed];
  let text = '';
  let used = 0;
  for (let i = 0; points.length > 0 && i < bytes; i++) {
    const point = points[i % points.length]!;
    const length = Buffer.byteLength(point);
    if (used + length > bytes) break;
    text += point;
    used += length;
  }
  return text + 'a'.repeat(bytes - used);
}

interface Message {
  kind: 'text' | 'binary';
  payload: Buffer;
  /** Fragment boundaries (byte offsets, possibly repeated: empty fragments), or undefined: one frame. */
  cuts: number[] | undefined;
  /** For each fragment boundary, whether a ping goes out between the two fragments. */
  pings: boolean[];
  /** The `compress` send option (of the first fragment when fragmented); matters only with permessage-deflate. */
  compress: boolean;
}

const message: fc.Arbitrary<Message> = fc
  .record({
    kind: fc.constantFrom<'text' | 'binary'>('text', 'binary'),
    size,
    seed: fc.integer(),
    textSeed: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
    cuts: fc.option(fc.array(fc.nat(), { maxLength: 6 }), { nil: undefined }),
    pings: fc.array(fc.boolean(), { maxLength: 6 }),
    compress: fc.boolean(),
  })
  .map(({ kind, size, seed, textSeed, cuts, pings, compress }) => {
    const payload = kind === 'text' ? Buffer.from(textOfSize(size, textSeed), 'utf8') : fill(size, seed);
    return {
      kind,
      payload,
      cuts: cuts?.map((cut) => cut % (payload.length + 1)).sort((a, b) => a - b),
      pings,
      compress,
    };
  });

/** Cuts a byte stream at the given points (taken modulo its length). */
function cutStream(stream: Buffer, cuts: readonly number[]): Buffer[] {
  if (stream.length === 0) return [];
  const points = [...new Set(cuts.map((cut) => cut % stream.length))].filter((p) => p > 0).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, stream.length]) {
    chunks.push(Buffer.from(stream.subarray(start, point)));
    start = point;
  }
  return chunks;
}

/** A seeded masking-key source, so a failing case replays with the same bytes. */
function seededMasks(seed: number): () => Uint8Array {
  let n = seed;
  return () => fill(4, n++);
}

function drain(protocol: Protocol): Buffer {
  return Buffer.concat(protocol.dataToSend());
}

function feedChunks(protocol: Protocol, chunks: readonly Buffer[]): ProtocolEvent[] {
  const events: ProtocolEvent[] = [];
  for (const chunk of chunks) {
    protocol.receiveData(chunk);
    events.push(...allEventsReceived(protocol));
  }
  return events;
}

// ---- round trips --------------------------------------------------------------------------------------

for (const variant of variants) {
  for (const senderRole of roles) {
    const receiverRole = peerOf(senderRole);
    t.test(
      `RFC 6455 §5.4, §5.6 (${variant.name}): property: ${senderRole} sends random messages, ${receiverRole} receives the same ones under any fragmentation and chunking, and both close cleanly`,
      async (t) => {
        fc.assert(
          fc.property(
            fc.array(message, { maxLength: 5 }),
            fc.array(fc.nat(), { maxLength: 40 }),
            fc.array(fc.nat(), { maxLength: 10 }),
            fc.integer(),
            (messages, streamCuts, replyCuts, maskSeed) => {
              const { sender: senderCompressor, receiver: receiverCompressor } = variant.compressors(senderRole, receiverRole);
              const sender = new Protocol({ role: senderRole, generateMask: seededMasks(maskSeed), compressor: senderCompressor });
              const receiver = new Protocol({ role: receiverRole, generateMask: seededMasks(~maskSeed), compressor: receiverCompressor });

              const expected: PlainEvent[] = [];
              const expectedPongs: PlainEvent[] = [];
              let pingCount = 0;
              for (const m of messages) {
                const data: PlainEvent =
                  m.kind === 'text' ? { type: 'text', data: m.payload.toString('utf8') } : { type: 'binary', data: shown(m.payload) };
                if (m.cuts === undefined) {
                  if (m.kind === 'text') sender.sendText(m.payload.toString('utf8'), { compress: m.compress });
                  else sender.sendBinary(m.payload, { compress: m.compress });
                  expected.push(data);
                  continue;
                }
                // Fragments cut at arbitrary bytes, so text fragments split code points (§5.6 allows it); with
                // permessage-deflate compressed unless the first says not to (RFC 7692 §6.1: RSV1 on it only).
                const bounds = [0, ...m.cuts, m.payload.length];
                for (let i = 0; i + 1 < bounds.length; i++) {
                  const last = i + 2 === bounds.length;
                  const opcode = i === 0 ? (m.kind === 'text' ? 0x1 : 0x2) : 0x0;
                  sender.sendFragment(opcode, m.payload.subarray(bounds[i], bounds[i + 1]), last, { compress: m.compress });
                  if (!last && m.pings[i] === true) {
                    const ping = Buffer.from(`ping ${pingCount++}`);
                    sender.sendPing(ping);
                    expected.push({ type: 'ping', data: shown(ping) });
                    expectedPongs.push({ type: 'pong', data: shown(ping) });
                  }
                }
                expected.push(data);
              }
              sender.sendClose(1000, 'done');
              expected.push({ type: 'close', code: 1000, reason: 'done' });

              const received = plain(feedChunks(receiver, cutStream(drain(sender), streamCuts)));
              if (JSON.stringify(received) !== JSON.stringify(expected)) {
                throw new Error(`received ${JSON.stringify(received).slice(0, 400)}\nexpected ${JSON.stringify(expected).slice(0, 400)}`);
              }

              // The receiver's pongs and close echo, fed back: the sender sees every pong and closes.
              const replies = plain(feedChunks(sender, cutStream(drain(receiver), replyCuts)));
              const closedCleanly =
                sender.state === 'closed' &&
                receiver.state === 'closed' &&
                sender.closeCode === 1000 &&
                receiver.closeCode === 1000 &&
                sender.failure === undefined &&
                receiver.failure === undefined &&
                // §7.1.1: the server ends the TCP connection; the client waits for it.
                sender.transportShouldClose === (senderRole === 'server') &&
                receiver.transportShouldClose === (receiverRole === 'server');
              return JSON.stringify(replies) === JSON.stringify([...expectedPongs, { type: 'close', code: 1000, reason: '' }]) && closedCleanly;
            },
          ),
          { numRuns: 150 },
        );
        t.pass('150 random conversations');
      },
    );
  }
}

// ---- hostile input ------------------------------------------------------------------------------------

const FAILURE_CLOSE_CODES = new Set([1002, 1007, 1009]);
const ERROR_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * Feeds `chunks` to `role` and checks what python-websockets promises of its parser: it never throws, and
 * the stream ends in one of two ways at most once: the peer's close, or an 'error' event (the last event)
 * whose close code is 1002, 1007 or 1009 and whose close frame went out. Returns a fingerprint of the
 * outcome so chunkings can be compared.
 */
function checkHostile(role: Role, chunks: readonly Buffer[], maxMessageSize: number): string | false {
  const protocol = new Protocol({ role, generateMask: fixedMask(), maxMessageSize });
  let events: PlainEvent[];
  let sent: string;
  try {
    const raw = feedChunks(protocol, chunks);
    events = plain(raw);
    sent = toHex(protocol.dataToSend());
  } catch (error) {
    throw new Error(`the protocol threw at its caller: ${String(error)}`);
  }
  const errors = events.filter((event) => event.type === 'error');
  const closes = events.filter((event) => event.type === 'close');
  if (errors.length + closes.length > 1) return false;
  const last = events.at(-1);
  if (errors.length === 1) {
    if (last?.type !== 'error' || !FAILURE_CLOSE_CODES.has(last.closeCode!) || !ERROR_CODES.has(last.code)) return false;
    const closeFrame = ownFrameHex(role, { opcode: 8, payload: closeBody(last.closeCode!) });
    if (!sent.endsWith(closeFrame)) return false;
    if (protocol.state !== 'closing' || !protocol.transportShouldClose || protocol.closeCode !== last.closeCode) return false;
  }
  if (closes.length === 1 && (last?.type !== 'close' || protocol.state !== 'closed')) return false;
  if (errors.length + closes.length === 0 && protocol.state !== 'open') return false;
  return JSON.stringify({ events, sent, state: protocol.state, closeCode: protocol.closeCode });
}

/** Frames built from random header fields: mostly plausible, often subtly wrong. */
function hostileFrame(role: Role): fc.Arbitrary<Buffer> {
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
    fc.string({ unit: 'binary', maxLength: 20 }).map((text) => Buffer.from(text, 'utf8')),
    fc.tuple(fc.integer({ min: 0, max: 5100 }), fc.string({ maxLength: 10 })).map(([code, reason]) => closeBody(code, reason)),
    fc.constantFrom(130, 300, 70000).map((length) => Buffer.alloc(length, 0x61)),
  );
  return fc
    .record({
      fin: fc.boolean(),
      rsv: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(7) }),
      opcode: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) }, { weight: 1, arbitrary: fc.nat(15) }),
      rightMasking: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      mask: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      payload,
      bigLength: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
    })
    .map(({ fin, rsv, opcode, rightMasking, mask, payload, bigLength }) => {
      const masked = (role === 'server') === rightMasking;
      return rawFrame({
        fin,
        rsv,
        opcode,
        payload,
        ...(masked ? { mask } : {}),
        ...(bigLength === undefined ? {} : { announcedLength: bigLength, lengthForm: 64 as const }),
      });
    });
}

for (const role of roles) {
  t.test(`robustness: property: ${role} fed random bytes never throws and ends, if at all, with close, or error 1002/1007/1009`, async (t) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
        const stream = Buffer.from(bytes);
        const whole = checkHostile(role, [Buffer.from(stream)], 1 << 20);
        return whole !== false && whole === checkHostile(role, cutStream(stream, cuts), 1 << 20);
      }),
      { numRuns: 1000 },
    );
    t.pass('1000 random inputs');
  });

  t.test(`robustness: property: ${role} fed random frames never throws, ends with close or error 1002/1007/1009, whatever the chunking`, async (t) => {
    fc.assert(
      fc.property(
        fc.array(hostileFrame(role), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.constantFrom(64, 1 << 20),
        (frames, cuts, maxMessageSize) => {
          const stream = Buffer.concat(frames);
          const whole = checkHostile(role, [Buffer.from(stream)], maxMessageSize);
          return whole !== false && whole === checkHostile(role, cutStream(stream, cuts), maxMessageSize);
        },
      ),
      { numRuns: 1000 },
    );
    t.pass('1000 random inputs');
  });
}

t.test('robustness: the random-frame generator reaches every outcome', async (t) => {
  // Guards the property above against a generator that only ever produces one kind of failure.
  const seen = new Set<string>();
  fc.assert(
    fc.property(fc.array(hostileFrame('server'), { minLength: 1, maxLength: 12 }), fc.constantFrom(64, 1 << 20), (frames, maxMessageSize) => {
      const protocol = new Protocol({ role: 'server', maxMessageSize });
      protocol.receiveData(Buffer.concat(frames));
      for (const event of allEventsReceived(protocol)) seen.add(event.type === 'error' ? `error ${event.error.closeCode}` : event.type);
    }),
    { numRuns: 1000, seed: 42 },
  );
  t.same([...seen].sort(), ['binary', 'close', 'error 1002', 'error 1007', 'error 1009', 'ping', 'pong', 'text']);
});

t.test('RFC 7692 §6.1 property: a compressed message split into random fragments (RSV1 on the first only) and random chunks inflates to the original', async (t) => {
  const params: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  fc.assert(
    fc.property(
      fc.array(fc.tuple(size, fc.integer(), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean()), { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (messages, streamCuts) => {
        const clientSide = new PerMessageDeflate('client', params);
        const server = new Protocol({ role: 'server', compressor: new PerMessageDeflate('server', params, { maxInflatedSize: 1 << 24 }) });
        const frames: Buffer[] = [];
        const expected: PlainEvent[] = [];
        for (const [length, seed, cuts, isText] of messages) {
          const original = isText ? Buffer.from(textOfSize(length, 'aκ🚀'), 'utf8') : fill(length, seed);
          const compressed = clientSide.compress(original);
          const bounds = [0, ...cuts.map((cut) => cut % (compressed.length + 1)).sort((a, b) => a - b), compressed.length];
          for (let i = 0; i + 1 < bounds.length; i++) {
            frames.push(
              rawFrame({
                fin: i + 2 === bounds.length,
                rsv: i === 0 ? 0b100 : 0,
                opcode: i === 0 ? (isText ? 0x1 : 0x2) : 0x0,
                payload: compressed.subarray(bounds[i], bounds[i + 1]),
                mask: fixedMask()(),
              }),
            );
          }
          expected.push(isText ? { type: 'text', data: original.toString('utf8') } : { type: 'binary', data: shown(original) });
        }
        const received = plain(feedChunks(server, cutStream(Buffer.concat(frames), streamCuts)));
        clientSide.close();
        return JSON.stringify(received) === JSON.stringify(expected);
      },
    ),
    { numRuns: 200 },
  );
  t.pass('every compressed, fragmented, chunked message inflated to its original');
});
