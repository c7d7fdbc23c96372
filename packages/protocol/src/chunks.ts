import { encodeBinary, encodeText, joinTextWithData, type TextMessage } from './encode.js';
import type {
  ClientChunkMessage,
  DeliveryHeader,
  DeliveryMessage,
  PublishHeader,
  PublishMessage,
  ServerChunkMessage,
} from './messages.js';
import { isBinaryPayload, type PayloadEncoding, utf8ByteLength } from './payload.js';
import type { SendPriority } from './priorities.js';

/** The chunk type that carries a given header: `publish` travels from clients, `message` from the server. */
export type ChunkFor<Header extends PublishHeader | DeliveryHeader> = Header extends PublishHeader
  ? ClientChunkMessage
  : ServerChunkMessage;

/** What to stamp on the chunks of one transfer. */
export interface SplitOptions {
  /** The transfer id: unique among this connection's transfers in this direction, never reused. */
  readonly transfer: number;
  /** How the receiver reads the reassembled bytes. */
  readonly encoding: PayloadEncoding;
}

/**
 * Splits a payload into chunk messages (protocol.md §7.2): each carries at most `chunkSize` bytes as a view
 * of `payload` (no copy); the first also carries `total`, `encoding` and the message's header.
 *
 * @throws RangeError when `chunkSize` is not a positive integer or the payload is empty (a chunk carries at
 *   least one byte).
 */
export function splitIntoChunks<Header extends PublishHeader | DeliveryHeader>(
  header: Header,
  payload: Uint8Array,
  chunkSize: number,
  options: SplitOptions,
): ChunkFor<Header>[] {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunk size must be a positive integer, got ${chunkSize}`);
  if (payload.length === 0) throw new RangeError('cannot chunk an empty payload: every chunk carries at least one byte');
  const count = Math.ceil(payload.length / chunkSize);
  const chunks: ChunkFor<Header>[] = [];
  for (let index = 0; index < count; index++) {
    const data = payload.subarray(index * chunkSize, Math.min(payload.length, (index + 1) * chunkSize));
    const last = index === count - 1;
    const chunk =
      index === 0
        ? { op: 'chunk', transfer: options.transfer, index, last, total: payload.length, encoding: options.encoding, header, data }
        : { op: 'chunk', transfer: options.transfer, index, last, data };
    chunks.push(chunk as ChunkFor<Header>);
  }
  return chunks;
}

/** One WebSocket message ready to send, with what a priority send queue needs to schedule and cancel it. */
export interface OutgoingFrame {
  readonly data: string | Uint8Array;
  readonly priority: SendPriority;
  /** Set on chunks: lets the queue drop a cancelled transfer's unsent chunks. */
  readonly transfer?: number;
}

/** How {@link encodeFrames} chunks. */
export interface FrameOptions {
  /** The peer's `chunkBytes`: payloads above it are chunked. */
  readonly chunkBytes: number;
  /** Allocates a fresh transfer id; called only when the message is chunked. */
  readonly nextTransfer: () => number;
}

/**
 * Encodes a message as the WebSocket messages to send: one, or the chunks of a payload over `chunkBytes`
 * (protocol.md §7.1). A JSON payload's size is the UTF-8 length of `JSON.stringify(data)`; it is measured
 * without allocating, and stringified once.
 */
export function encodeFrames(message: TextMessage, options: FrameOptions): OutgoingFrame[] {
  const priority = messagePriority(message);
  if (message.op !== 'publish' && message.op !== 'message') return [{ data: encodeText(message), priority }];
  const { data, ...header } = message;
  if (isBinaryPayload(data)) {
    if (data.length <= options.chunkBytes) return [{ data: encodeBinary(header, data), priority }];
    return chunkFrames(header, data, 'binary', priority, options);
  }
  const dataJson: unknown = JSON.stringify(data);
  if (typeof dataJson !== 'string') throw new TypeError(`${message.op} data is not a JSON value`);
  if (utf8ByteLength(dataJson) <= options.chunkBytes) {
    return [{ data: joinTextWithData(JSON.stringify(header), dataJson), priority }];
  }
  return chunkFrames(header, new TextEncoder().encode(dataJson), 'json', priority, options);
}

/** The priority a message is sent at: its own for publishes and deliveries, control for everything else. */
export function messagePriority(message: TextMessage | PublishMessage | DeliveryMessage): SendPriority {
  return message.op === 'publish' || message.op === 'message' ? message.priority : 'control';
}

function chunkFrames(
  header: PublishHeader | DeliveryHeader,
  payload: Uint8Array,
  encoding: PayloadEncoding,
  priority: SendPriority,
  options: FrameOptions,
): OutgoingFrame[] {
  const transfer = options.nextTransfer();
  return splitIntoChunks(header, payload, options.chunkBytes, { transfer, encoding }).map(({ data, ...chunkHeader }) => ({
    data: encodeBinary(chunkHeader, data),
    priority,
    transfer,
  }));
}
