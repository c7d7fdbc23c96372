import type { Role } from '../../src/constants.js';
import { Protocol, type ProtocolEvent, type ProtocolOptions, type ProtocolState } from '../../src/index.js';
import { rawFrame, type RawFrame } from './frames.js';
import { hex, shown, toHex } from './hex.js';

/** The masking key of RFC 6455 §5.7's masked example; every client in these tests masks with it. */
export const MASK = hex('37 fa 21 3d');

/** A `generateMask` that always returns `key` (a fresh copy, so nothing downstream can alter the original). */
export function fixedMask(key: Uint8Array = MASK): () => Uint8Array {
  return () => Uint8Array.from(key);
}

export type ProtocolTestOptions = Omit<ProtocolOptions, 'role'>;

/** A Protocol for `role`; clients mask with `MASK` unless told otherwise, so their bytes are exact. */
export function makeProtocol(role: Role, options: ProtocolTestOptions = {}): Protocol {
  return new Protocol({ role, generateMask: fixedMask(), ...options });
}

/** A frame as the peer of `role` must write it: masked with `MASK` when it comes from a client. */
export function peerFrame(role: Role, frame: RawFrame): Buffer {
  return rawFrame(role === 'server' ? { mask: MASK, ...frame } : frame);
}

/** A frame as `role` itself writes it (with this file's fixed mask for a client), as hex. */
export function ownFrameHex(role: Role, frame: RawFrame): string {
  return toHex(rawFrame(role === 'client' ? { mask: MASK, ...frame } : frame));
}

/** Events reduced to plain data for tap's diffs: bytes as `shown` (hex when small), errors as their codes. */
export type PlainEvent =
  | { type: 'text'; data: string }
  | { type: 'binary' | 'ping' | 'pong'; data: string }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; code: string; closeCode: number | undefined };

export function plain(events: readonly ProtocolEvent[]): PlainEvent[] {
  return events.map((event): PlainEvent => {
    switch (event.type) {
      case 'text':
        return { type: 'text', data: event.data };
      case 'binary':
      case 'ping':
      case 'pong':
        return { type: event.type, data: shown(event.data) };
      case 'close':
        return { type: 'close', code: event.code, reason: event.reason };
      case 'error':
        return { type: 'error', code: event.error.code, closeCode: event.error.closeCode };
    }
  });
}

/**
 * `eventsReceived()` called until it returns nothing, as an adapter does: a failure after other events
 * comes in a batch of its own (see `Protocol.eventsReceived`).
 */
export function allEventsReceived(protocol: Protocol): ProtocolEvent[] {
  const events: ProtocolEvent[] = [];
  for (let batch = protocol.eventsReceived(); batch.length > 0; batch = protocol.eventsReceived()) events.push(...batch);
  return events;
}

/** Everything observable about a Protocol after it was fed some input. */
export interface Outcome {
  events: PlainEvent[];
  /** `dataToSend()` as hex. */
  sent: string;
  state: ProtocolState;
  closeCode: number;
  closeReason: string;
  closeSent: boolean;
  closeReceived: boolean;
  transportShouldClose: boolean;
  failure: string | undefined;
}

/**
 * Feeds `chunks` to a fresh Protocol one `receiveData` call each. Chunks are copied first: the protocol
 * owns what it is given (it unmasks in place), and test vectors are reused across chunkings.
 */
export function feed(role: Role, chunks: readonly Uint8Array[], options: ProtocolTestOptions = {}): Outcome {
  const protocol = makeProtocol(role, options);
  const events: ProtocolEvent[] = [];
  const sent: Uint8Array[] = [];
  for (const chunk of chunks) {
    protocol.receiveData(Buffer.from(chunk));
    events.push(...allEventsReceived(protocol));
    sent.push(...protocol.dataToSend());
  }
  return outcome(protocol, events, sent);
}

export function outcome(protocol: Protocol, events: readonly ProtocolEvent[], sent: readonly Uint8Array[]): Outcome {
  return {
    events: plain(events),
    sent: toHex(sent),
    state: protocol.state,
    closeCode: protocol.closeCode,
    closeReason: protocol.closeReason,
    closeSent: protocol.closeSent,
    closeReceived: protocol.closeReceived,
    transportShouldClose: protocol.transportShouldClose,
    failure: protocol.failure?.code,
  };
}

export interface Chunking {
  name: string;
  chunks: Buffer[];
}

/**
 * The ways a byte stream is cut for the chunking rule: whole, in two at every split point, and one byte at
 * a time. Past `exhaustiveUpTo` bytes the two-piece splits are sampled (every split inside the first and
 * last 40 bytes, where the headers are, then every 997th), which keeps a 64 KiB vector fast.
 */
export function chunkings(data: Uint8Array, exhaustiveUpTo = 2048): Chunking[] {
  const buffer = Buffer.from(data);
  const result: Chunking[] = [{ name: 'whole', chunks: [buffer] }];
  for (let split = 1; split < buffer.length; split++) {
    const sampled = split <= 40 || split >= buffer.length - 40 || split % 997 === 0;
    if (buffer.length > exhaustiveUpTo && !sampled) continue;
    result.push({ name: `split at ${split}`, chunks: [buffer.subarray(0, split), buffer.subarray(split)] });
  }
  if (buffer.length > 1) {
    const bytes: Buffer[] = [];
    for (let i = 0; i < buffer.length; i++) bytes.push(buffer.subarray(i, i + 1));
    result.push({ name: 'one byte at a time', chunks: bytes });
  }
  return result;
}

/**
 * Feeds `input` to `role` in every chunking and returns the outcome, or the first chunking whose outcome
 * differs from feeding it whole (`mismatch`), so a test can assert both at once.
 */
export function feedEveryWay(
  role: Role,
  input: Uint8Array,
  options: ProtocolTestOptions = {},
): { outcome: Outcome; mismatch: { name: string; outcome: Outcome } | undefined } {
  const [whole, ...rest] = chunkings(input);
  const reference = feed(role, whole!.chunks, options);
  const expected = JSON.stringify(reference);
  for (const chunking of rest) {
    const got = feed(role, chunking.chunks, options);
    if (JSON.stringify(got) !== expected) return { outcome: reference, mismatch: { name: chunking.name, outcome: got } };
  }
  return { outcome: reference, mismatch: undefined };
}
