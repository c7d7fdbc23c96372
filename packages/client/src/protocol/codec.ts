import type * as z from 'zod/mini';
import { isJsonObject, openEnvelope, sealEnvelope } from './binary-envelope.js';
import { type ProtocolError, ProtocolErrorCode, protocolError } from './errors.js';
import type { ProtocolIssueParams } from './fields.js';
import {
  type ClientChunkHeader,
  type ClientMessage,
  type DeliveryHeader,
  type DirectionSchemas,
  type PublishHeader,
  type ServerChunkHeader,
  type ServerMessage,
  clientDirection,
  serverDirection,
} from './messages.js';
import { isBinaryPayload } from './payload.js';

/** What a WebSocket message event can hand over: text, Node's Buffer (a Uint8Array), or a browser ArrayBuffer. */
export type WireData = string | Uint8Array | ArrayBuffer;

/**
 * The outcome of decoding. On failure, `id` and `transfer` are set when they could be read, so the receiver
 * can address its `error` frame to the request and abandon the transfer.
 */
export type DecodeResult<M> =
  | { readonly ok: true; readonly message: M }
  | { readonly ok: false; readonly error: ProtocolError; readonly id?: number; readonly transfer?: number };

/** Messages that have a text form: everything but chunks. */
export type TextMessage = Exclude<ClientMessage | ServerMessage, { op: 'chunk' }>;

/** Headers that have a binary form: payload messages without `data`, and chunk headers. */
export type BinaryHeader = PublishHeader | DeliveryHeader | ClientChunkHeader | ServerChunkHeader;

/** Decodes what a server receives. Never throws: garbage becomes an error result with its protocol code. */
export function decodeClientMessage(data: WireData): DecodeResult<ClientMessage> {
  return decode(clientDirection, data) as DecodeResult<ClientMessage>;
}

/** Decodes what a client receives. Never throws: garbage becomes an error result with its protocol code. */
export function decodeServerMessage(data: WireData): DecodeResult<ServerMessage> {
  return decode(serverDirection, data) as DecodeResult<ServerMessage>;
}

/**
 * Encodes the text form: JSON with `data` last, so a reader sees the header before a large payload.
 *
 * @throws TypeError when `data` is bytes (use {@link encodeBinary} or {@link encodeMessage}) or not JSON.
 */
export function encodeText(message: TextMessage): string {
  if (!('data' in message)) return JSON.stringify(message);
  const { data, ...header } = message;
  if (isBinaryPayload(data)) throw new TypeError(`${message.op} with bytes in data has no text form; encode it as binary`);
  const dataJson: unknown = JSON.stringify(data);
  if (typeof dataJson !== 'string') throw new TypeError(`${message.op} data is not a JSON value`);
  return joinTextWithData(JSON.stringify(header), dataJson);
}

/**
 * Encodes the binary form: `[uint32 BE header length][UTF-8 JSON header][payload]`. The payload is copied
 * once, never base64-encoded.
 *
 * @throws RangeError when the header exceeds `ProtocolLimit.maxHeaderBytes`.
 */
export function encodeBinary(header: BinaryHeader, payload: Uint8Array): Uint8Array {
  if ('data' in header) throw new TypeError('a binary header must not contain data; pass the payload separately');
  return sealEnvelope(header, payload);
}

/**
 * Encodes any message in the form its payload calls for: binary when `data` is bytes (always for chunks),
 * text otherwise. Chunking is the caller's decision (see `encodeFrames`).
 */
export function encodeMessage(message: ClientMessage | ServerMessage): string | Uint8Array {
  if ('data' in message && isBinaryPayload(message.data)) {
    const { data, ...header } = message;
    return sealEnvelope(header, data);
  }
  return encodeText(message as TextMessage);
}

/** Appends `"data":<dataJson>` to a header's JSON object text; `headerJson` always has `op`, so it is never `{}`. */
export function joinTextWithData(headerJson: string, dataJson: string): string {
  return `${headerJson.slice(0, -1)},"data":${dataJson}}`;
}

function decode(direction: DirectionSchemas, data: WireData): DecodeResult<unknown> {
  if (typeof data === 'string') return decodeText(direction, data);
  return decodeBinary(direction, data instanceof Uint8Array ? data : new Uint8Array(data));
}

function decodeText(direction: DirectionSchemas, text: string): DecodeResult<unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return failure(ProtocolErrorCode.malformed, `text message is not JSON: ${describe(error)}`);
  }
  if (!isJsonObject(parsed)) return failure(ProtocolErrorCode.malformed, 'text message must be a JSON object');
  const op = parsed['op'];
  if (typeof op !== 'string') return failure(ProtocolErrorCode.badRequest, 'op must be a string', parsed);
  const schema = lookup(direction.text, op);
  if (schema === undefined) {
    return lookup(direction.binaryHeader, op) === undefined
      ? failure(ProtocolErrorCode.unknownOp, `unknown op ${JSON.stringify(op)}`, parsed)
      : failure(ProtocolErrorCode.badRequest, `${op} travels only in binary messages`, parsed);
  }
  return validate(schema, op, parsed, undefined);
}

function decodeBinary(direction: DirectionSchemas, bytes: Uint8Array): DecodeResult<unknown> {
  const envelope = openEnvelope(bytes);
  if (!envelope.ok) return { ok: false, error: envelope.error };
  const { header, payload } = envelope;
  const op = header['op'];
  if (typeof op !== 'string') return failure(ProtocolErrorCode.badRequest, 'op must be a string', header);
  const schema = lookup(direction.binaryHeader, op);
  if (schema === undefined) {
    return lookup(direction.text, op) === undefined
      ? failure(ProtocolErrorCode.unknownOp, `unknown op ${JSON.stringify(op)}`, header)
      : failure(ProtocolErrorCode.badRequest, `${op} has no binary form; send it as text`, header);
  }
  if ('data' in header) {
    return failure(ProtocolErrorCode.badRequest, 'a binary header must not contain data: the payload follows it', header);
  }
  return validate(schema, op, header, payload);
}

function validate(schema: z.ZodMiniType, op: string, value: Record<string, unknown>, payload: Uint8Array | undefined): DecodeResult<unknown> {
  const result = schema.safeParse(value);
  if (result.success) {
    const message = payload === undefined ? result.data : { ...(result.data as object), data: payload };
    return { ok: true, message };
  }
  const issue = result.error.issues[0];
  const code = (issue?.code === 'custom' ? (issue.params as ProtocolIssueParams | undefined)?.protocolCode : undefined) ?? ProtocolErrorCode.badRequest;
  const where = issue === undefined || issue.path.length === 0 ? op : `${op}.${issue.path.map(String).join('.')}`;
  return failure(code, `${where}: ${issue === undefined ? 'invalid' : describeIssue(issue)}`, value);
}

/**
 * Words an issue for the `error` frame. zod/mini ships no locale (that keeps the browser bundle small), so
 * its own messages are a bare "Invalid input"; custom checks carry their own message.
 */
function describeIssue(issue: z.core.$ZodIssue): string {
  const unit = 'origin' in issue && issue.origin === 'string' ? ' characters' : '';
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${issue.expected}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}${unit}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${unit}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'invalid_union':
      return 'matches none of the allowed shapes';
    default:
      return issue.message;
  }
}

/** Own properties only: `op: "toString"` must be an unknown op, not a prototype method. */
function lookup(table: Readonly<Record<string, z.ZodMiniType>>, op: string): z.ZodMiniType | undefined {
  return Object.hasOwn(table, op) ? table[op] : undefined;
}

function failure(code: ProtocolErrorCode, message: string, value?: Record<string, unknown>): DecodeResult<never> {
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
