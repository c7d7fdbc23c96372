import { ProtocolLimit } from './constants.js';
import {
  type Check,
  type Fields,
  binaryHeaderChecks,
  boolean,
  chunkCheck,
  coreTextChecks,
  decoders,
  deliveryHeader,
  epoch,
  fields,
  invalid,
  literal,
  nonEmptyText,
  nonNegativeInteger,
  object,
  offset,
  oneOf,
  pattern,
  payload,
  requestId,
  textOfLength,
  topic,
} from './decode-server-core.js';
import { type DecodeResult, type DirectionDecoders, type WireData, decodeWith } from './decode-frame.js';
import type { ServerMessage } from './messages.js';
import { LEAVE_REASONS, PRESENCE_GAP_REASONS } from './reasons.js';

/**
 * Every op a client may receive: the core ops of decode-server-core.ts plus presence (protocol.md §13) and
 * server-side subscriptions (§14), checked by hand in the order of messages-presence.ts's schemas, which are
 * the reference the differential test holds this decoder to.
 */

/** Decodes what a client receives. Never throws: garbage becomes an error result with its protocol code. */
export function decodeServerMessage(data: WireData): DecodeResult<ServerMessage> {
  return decodeWith(serverDecoders, data) as DecodeResult<ServerMessage>;
}

const position = { topic, epoch, offset, seq: offset };
const counts = { connections: nonNegativeInteger, users: nonNegativeInteger, anonymous: nonNegativeInteger };
const member = { ...position, connection: textOfLength(ProtocolLimit.maxConnectionIdLength), user: nonEmptyText };

const presenceHeaderShape = {
  op: literal('presence'),
  id: requestId,
  ...position,
  stats: (stats: unknown, path: string) => fields(object(stats, path), path, counts),
  truncated: boolean,
};

/** A first chunk's header: a delivery, or a presence answer whose listing is chunked (protocol.md §7.2). */
const chunkedHeader: Check<Fields> = (value, path) => {
  const header = object(value, path);
  if (header['op'] === 'message') return deliveryHeader(header, path);
  if (header['op'] === 'presence') return fields(header, path, presenceHeaderShape);
  return invalid(`${path}.op`, 'matches none of the allowed shapes');
};

const presenceTextChecks: Record<string, (value: Fields) => Fields> = {
  presence: (value) => fields(value, '', { ...presenceHeaderShape, data: payload }, ['data']),
  presence_stats: (value) =>
    fields(value, '', { op: literal('presence_stats'), id: requestId, ...position, ...counts, coalesced: nonNegativeInteger }, ['id', 'coalesced']),
  join: (value) => fields(value, '', { op: literal('join'), ...member, info: payload, first: boolean }, ['user', 'info']),
  leave: (value) => fields(value, '', { op: literal('leave'), ...member, last: boolean, reason: oneOf(LEAVE_REASONS) }, ['user']),
  presence_gap: (value) => fields(value, '', { op: literal('presence_gap'), topic, epoch, seq: offset, reason: oneOf(PRESENCE_GAP_REASONS) }),
  server_subscribe: (value) => fields(value, '', { op: literal('server_subscribe'), pattern }),
  // protocol.md §15 (messages-rpc.ts).
  rpc_result: (value) => fields(value, '', { op: literal('rpc_result'), id: requestId, data: payload }, ['data']),
};

const serverDecoders: DirectionDecoders = {
  text: decoders({ ...coreTextChecks, ...presenceTextChecks }),
  binaryHeader: decoders({ ...binaryHeaderChecks, chunk: chunkCheck(chunkedHeader) }),
};
