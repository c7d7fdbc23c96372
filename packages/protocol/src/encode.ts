import { sealEnvelope } from './binary-envelope.js';
import type {
  ClientChunkHeader,
  ClientMessage,
  DeliveryHeader,
  PresenceChunkHeader,
  PublishHeader,
  ServerChunkHeader,
  ServerMessage,
} from './messages.js';
import { isBinaryPayload } from './payload.js';

/** Messages that have a text form: everything but chunks. */
export type TextMessage = Exclude<ClientMessage | ServerMessage, { op: 'chunk' }>;

/** Headers that have a binary form: payload messages without `data`, and chunk headers. */
export type BinaryHeader = PublishHeader | DeliveryHeader | ClientChunkHeader | ServerChunkHeader | PresenceChunkHeader;

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

/**
 * The text form of a `publish` or `message` whose `data` is already JSON text (a stored payload, or one the
 * sender serialized to measure it): spliced in, never parsed and serialized again. The same bytes as
 * {@link encodeText} gives for the parsed value when `dataJson` is what `JSON.stringify` makes of it.
 */
export function encodeTextWithData(header: PublishHeader | DeliveryHeader, dataJson: string): string {
  return joinTextWithData(JSON.stringify(header), dataJson);
}

/**
 * Appends `"data":<dataJson>` to a header's JSON object text; `headerJson` always has `op`, so it is never
 * `{}`. The `data` case of {@link appendMember}, written out: it is all the SDK's publish path needs, and
 * the browser bundle then carries one small function instead of two.
 */
export function joinTextWithData(headerJson: string, dataJson: string): string {
  return `${headerJson.slice(0, -1)},"data":${dataJson}}`;
}

/**
 * Appends a member whose value is already JSON text to an object's JSON text:
 * `appendMember('{"a":1}', 'data', '[2]')` is `{"a":1,"data":[2]}`. Payloads are stored and carried as JSON
 * text, so they are spliced into messages and answers this way instead of being parsed and serialized again.
 * `objectJson` must have at least one member and `name` must need no escaping; neither is checked.
 */
export function appendMember(objectJson: string, name: string, valueJson: string): string {
  return `${objectJson.slice(0, -1)},"${name}":${valueJson}}`;
}
