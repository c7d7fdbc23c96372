import type * as z from 'zod/mini';
import { type DecodeResult, type DirectionDecoders, type OpDecoder, type WireData, decodeFailure, decodeWith } from './decode-frame.js';
import { ProtocolErrorCode } from './errors.js';
import type { ProtocolIssueParams } from './fields.js';
import { type ClientMessage, type DirectionSchemas, clientDirection } from './messages.js';

/** Decodes what a server receives, checked by the zod schemas. Never throws: garbage becomes an error result with its protocol code. */
export function decodeClientMessage(data: WireData): DecodeResult<ClientMessage> {
  return decodeWith(clientDecoders, data) as DecodeResult<ClientMessage>;
}

/** A direction's zod schemas as decoders (also the reference that decode-server.ts is tested against). */
export function schemaDecoders(direction: DirectionSchemas): DirectionDecoders {
  const decoders = (table: Readonly<Record<string, z.ZodMiniType>>): Record<string, OpDecoder> =>
    Object.fromEntries(Object.entries(table).map(([op, schema]) => [op, (value, _op, payload) => validate(schema, op, value, payload)]));
  return { text: decoders(direction.text), binaryHeader: decoders(direction.binaryHeader) };
}

const clientDecoders = schemaDecoders(clientDirection);

function validate(schema: z.ZodMiniType, op: string, value: Record<string, unknown>, payload: Uint8Array | undefined): DecodeResult<unknown> {
  const result = schema.safeParse(value);
  if (result.success) {
    const message = payload === undefined ? result.data : { ...(result.data as object), data: payload };
    return { ok: true, message };
  }
  const issue = result.error.issues[0];
  const code = (issue?.code === 'custom' ? (issue.params as ProtocolIssueParams | undefined)?.protocolCode : undefined) ?? ProtocolErrorCode.badRequest;
  const where = issue === undefined || issue.path.length === 0 ? op : `${op}.${issue.path.map(String).join('.')}`;
  return decodeFailure(code, `${where}: ${issue === undefined ? 'invalid' : describeIssue(issue)}`, value);
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
