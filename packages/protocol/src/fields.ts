import * as z from 'zod/mini';
import { ProtocolLimit } from './constants.js';
import type { ProtocolErrorCode } from './errors.js';
import type { Payload } from './payload.js';
import { PRIORITIES } from './priorities.js';
import { parsePattern, parseTopic } from './topics.js';

/**
 * Field schemas shared by the message schemas (protocol.md §3). A failing refinement names the protocol
 * error code in its issue's `params.protocolCode`, so the decoder reports `invalid_topic` rather than the
 * generic `bad_request`.
 *
 * Schemas use `zod/mini`: its functional checks tree-shake, so the browser bundle carries a few KB of zod
 * rather than the ~100 KB (gzipped) that zod's method-chaining API pulls in.
 */

/** The `params` a custom zod issue carries to select a protocol error code. */
export interface ProtocolIssueParams {
  readonly protocolCode: ProtocolErrorCode;
}

/** An integer from `minimum` to 2^53-1: JSON numbers that stay exact in every runtime. */
function safeIntegerFrom(minimum: number) {
  return z.int().check(z.minimum(minimum), z.maximum(ProtocolLimit.maxInteger));
}

/** A client-chosen request id, 1 ... 2^53-1. */
export const requestIdField = safeIntegerFrom(1);

/** A chunked transfer's id, 1 ... 2^53-1, chosen by the sender of the chunks. */
export const transferIdField = safeIntegerFrom(1);

/** A per-topic offset; 0 means "before the first message". */
export const offsetField = safeIntegerFrom(0);

/** The offset of a message: the first one of an epoch is 1. */
export const messageOffsetField = safeIntegerFrom(1);

/** A duration or size that may be zero. */
export const nonNegativeIntegerField = safeIntegerFrom(0);

/** A size or count that must be at least one. */
export const positiveIntegerField = safeIntegerFrom(1);

/** Milliseconds since the Unix epoch. */
export const timestampField = safeIntegerFrom(0);

/** 1 to `maxLength` visible ASCII characters (`!` to `~`). */
export function visibleAsciiField(maxLength: number) {
  return z.string().check(z.minLength(1), z.maxLength(maxLength), z.regex(/^[!-~]+$/, 'must be visible ASCII'));
}

/** Opaque history generation: 1-64 visible ASCII characters. */
export const epochField = visibleAsciiField(ProtocolLimit.maxEpochLength);

/** Idempotency key: 1-128 visible ASCII characters. */
export const idempotencyKeyField = visibleAsciiField(ProtocolLimit.maxKeyLength);

export const priorityField = z.enum(PRIORITIES);

/**
 * An error code. Any string is accepted because v1 may add codes (protocol.md §1): a client that rejected
 * an `error` frame with a new code would never settle the request it answers.
 */
export const errorCodeField = z.custom<ProtocolErrorCode | (string & {})>(
  (value) => typeof value === 'string' && value.length > 0,
  { message: 'must be a non-empty string' },
);

/** A concrete topic (protocol.md §4); failures are `invalid_topic`. */
export const topicField = z.string().check(
  z.superRefine((value, context) => {
    const parsed = parseTopic(value);
    if (!parsed.ok) context.addIssue({ code: 'custom', message: parsed.error.message, params: issueParams(parsed.error.code) });
  }),
);

/** A subscription pattern (protocol.md §4); failures are `invalid_topic`. */
export const patternField = z.string().check(
  z.superRefine((value, context) => {
    const parsed = parsePattern(value);
    if (!parsed.ok) context.addIssue({ code: 'custom', message: parsed.error.message, params: issueParams(parsed.error.code) });
  }),
);

/**
 * `data`: any JSON value (including `null`) in the text form, the payload bytes in the binary form. Only
 * presence is checked: the value came out of `JSON.parse`, and walking a megabyte of JSON again would cost
 * the broker on every publish.
 */
export const payloadField = z.custom<Payload>((value) => value !== undefined, { message: 'data is required' });

/**
 * A position in a topic's history: the last offset the client has, in an epoch, and with presence events
 * the last presence entry's `seq` (protocol.md §13.4).
 */
export const positionField = z.object({ offset: offsetField, epoch: epochField, seq: z.exactOptional(offsetField) });

/** A connection id as `welcome` gives it: 1-128 characters. */
export const connectionIdField = z.string().check(z.minLength(1), z.maxLength(ProtocolLimit.maxConnectionIdLength));

/** A user id (the JWT `sub`): any non-empty string. */
export const userIdField = z.string().check(z.minLength(1));

/** Builds the `params` that select a protocol error code for a custom issue. */
export function issueParams(protocolCode: ProtocolErrorCode): ProtocolIssueParams {
  return { protocolCode };
}

/**
 * A chunk's bytes. Typed as plain `Uint8Array` (any backing buffer) rather than what `z.instanceof` infers,
 * so Node's pooled `Buffer`s and `subarray` views are accepted.
 */
export const bytesField = z.custom<Uint8Array>((value) => value instanceof Uint8Array, { message: 'must be bytes' });
