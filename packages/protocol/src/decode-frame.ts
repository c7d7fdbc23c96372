import { isJsonObject, openEnvelope } from './binary-envelope.js';
import { type ProtocolError, ProtocolErrorCode, protocolError } from './errors.js';

/**
 * The part of decoding both directions share (protocol.md §3): JSON or the binary envelope, `op`, and which
 * form an op may take. Each op's fields are checked by the direction's `OpDecoder`s: zod schemas for what
 * the server receives (decode-client.ts), hand-written checks for what the client receives
 * (decode-server.ts, which keeps zod out of the browser bundle).
 */

/** What a WebSocket message event can hand over: text, Node's Buffer (a Uint8Array), or a browser ArrayBuffer. */
export type WireData = string | Uint8Array | ArrayBuffer;

/**
 * The outcome of decoding. On failure, `id` and `transfer` are set when they could be read, so the receiver
 * can address its `error` frame to the request and abandon the transfer.
 */
export type DecodeResult<M> =
  | { readonly ok: true; readonly message: M }
  | { readonly ok: false; readonly error: ProtocolError; readonly id?: number; readonly transfer?: number };

/** Checks one op's fields; `payload` is the binary form's bytes, undefined in the text form. */
export type OpDecoder = (value: Record<string, unknown>, op: string, payload: Uint8Array | undefined) => DecodeResult<unknown>;

/** One direction: the decoder of each op's text form and of each binary form's header. An op missing from a table does not have that form. */
export interface DirectionDecoders {
  readonly text: Readonly<Record<string, OpDecoder>>;
  readonly binaryHeader: Readonly<Record<string, OpDecoder>>;
}

/** Decodes a WebSocket message for `direction`. Never throws: garbage becomes an error result with its protocol code. */
export function decodeWith(direction: DirectionDecoders, data: WireData): DecodeResult<unknown> {
  if (typeof data === 'string') return decodeText(direction, data);
  return decodeBinary(direction, data instanceof Uint8Array ? data : new Uint8Array(data));
}

function decodeText(direction: DirectionDecoders, text: string): DecodeResult<unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return decodeFailure(ProtocolErrorCode.malformed, `text message is not JSON: ${describeError(error)}`);
  }
  if (!isJsonObject(parsed)) return decodeFailure(ProtocolErrorCode.malformed, 'text message must be a JSON object');
  const op = parsed['op'];
  if (typeof op !== 'string') return decodeFailure(ProtocolErrorCode.badRequest, 'op must be a string', parsed);
  const decoder = lookup(direction.text, op);
  if (decoder === undefined) {
    return lookup(direction.binaryHeader, op) === undefined
      ? decodeFailure(ProtocolErrorCode.unknownOp, `unknown op ${JSON.stringify(op)}`, parsed)
      : decodeFailure(ProtocolErrorCode.badRequest, `${op} travels only in binary messages`, parsed);
  }
  return decoder(parsed, op, undefined);
}

function decodeBinary(direction: DirectionDecoders, bytes: Uint8Array): DecodeResult<unknown> {
  const envelope = openEnvelope(bytes);
  if (!envelope.ok) return { ok: false, error: envelope.error };
  const { header, payload } = envelope;
  const op = header['op'];
  if (typeof op !== 'string') return decodeFailure(ProtocolErrorCode.badRequest, 'op must be a string', header);
  const decoder = lookup(direction.binaryHeader, op);
  if (decoder === undefined) {
    return lookup(direction.text, op) === undefined
      ? decodeFailure(ProtocolErrorCode.unknownOp, `unknown op ${JSON.stringify(op)}`, header)
      : decodeFailure(ProtocolErrorCode.badRequest, `${op} has no binary form; send it as text`, header);
  }
  if ('data' in header) {
    return decodeFailure(ProtocolErrorCode.badRequest, 'a binary header must not contain data: the payload follows it', header);
  }
  return decoder(header, op, payload);
}

/** Own properties only: `op: "toString"` must be an unknown op, not a prototype method. */
function lookup(table: Readonly<Record<string, OpDecoder>>, op: string): OpDecoder | undefined {
  return Object.hasOwn(table, op) ? table[op] : undefined;
}

/** A failed decode, with the request id and transfer id of `value` when they can be read. */
export function decodeFailure(code: ProtocolErrorCode, message: string, value?: Record<string, unknown>): DecodeResult<never> {
  const id = value === undefined ? undefined : requestIdOf(value);
  const transfer = value === undefined ? undefined : transferIdOf(value);
  return {
    ok: false,
    error: protocolError(code, message),
    ...(id === undefined ? {} : { id }),
    ...(transfer === undefined ? {} : { transfer }),
  };
}

/** The request id of a message, or of the message a first chunk carries. */
function requestIdOf(value: Record<string, unknown>): number | undefined {
  if (isWireInteger(value['id'])) return value['id'];
  const inner = value['header'];
  return value['op'] === 'chunk' && isJsonObject(inner) && isWireInteger(inner['id']) ? inner['id'] : undefined;
}

function transferIdOf(value: Record<string, unknown>): number | undefined {
  const transfer = value['transfer'];
  return (value['op'] === 'chunk' || value['op'] === 'cancel') && isWireInteger(transfer) ? transfer : undefined;
}

function isWireInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
