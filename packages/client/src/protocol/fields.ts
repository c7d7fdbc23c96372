import { z } from 'zod';
import { ProtocolLimit } from './constants.js';
import type { ProtocolErrorCode } from './errors.js';
import type { Payload } from './payload.js';
import { PRIORITIES } from './priorities.js';
import { parsePattern, parseTopic } from './topics.js';

/**
 * Field schemas shared by the message schemas (protocol.md §3). A failing refinement names the protocol
 * error code in its issue's `params.protocolCode`, so the codec reports `invalid_topic` rather than the
 * generic `bad_request`.
 */

/** The `params` a custom zod issue carries to select a protocol error code. */
export interface ProtocolIssueParams {
  readonly protocolCode: ProtocolErrorCode;
}

/** Integers that stay exact as JSON numbers in every runtime. */
const safeInteger = z.number().int().max(ProtocolLimit.maxInteger);

/** A client-chosen request id, 1 ... 2^53-1. */
export const requestIdField = safeInteger.min(1);

/** A chunked transfer's id, 1 ... 2^53-1, chosen by the sender of the chunks. */
export const transferIdField = safeInteger.min(1);

/** A per-topic offset; 0 means "before the first message". */
export const offsetField = safeInteger.min(0);

/** A duration or size that may be zero. */
export const nonNegativeIntegerField = safeInteger.min(0);

/** A size or count that must be at least one. */
export const positiveIntegerField = safeInteger.min(1);

/** Milliseconds since the Unix epoch. */
export const timestampField = safeInteger.min(0);

/** Opaque history generation: 1-64 visible ASCII characters. */
export const epochField = z.string().regex(/^[!-~]+$/, 'must be visible ASCII').min(1).max(ProtocolLimit.maxEpochLength);

/** Idempotency key: 1-128 visible ASCII characters. */
export const idempotencyKeyField = z
  .string()
  .regex(/^[!-~]+$/, 'must be visible ASCII')
  .min(1)
  .max(ProtocolLimit.maxKeyLength);

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
export const topicField = z.string().superRefine((value, context) => {
  const parsed = parseTopic(value);
  if (!parsed.ok) context.addIssue({ code: 'custom', message: parsed.error.message, params: issueParams(parsed.error.code) });
});

/** A subscription pattern (protocol.md §4); failures are `invalid_topic`. */
export const patternField = z.string().superRefine((value, context) => {
  const parsed = parsePattern(value);
  if (!parsed.ok) context.addIssue({ code: 'custom', message: parsed.error.message, params: issueParams(parsed.error.code) });
});

/**
 * `data`: any JSON value (including `null`) in the text form, the payload bytes in the binary form. Only
 * presence is checked: the value came out of `JSON.parse`, and walking a megabyte of JSON again would cost
 * the broker on every publish.
 */
export const payloadField = z.custom<Payload>((value) => value !== undefined, { message: 'data is required' });

/** A position in a topic's history: the last offset the client has, in an epoch. */
export const positionField = z.object({ offset: offsetField, epoch: epochField });

/** Builds the `params` that select a protocol error code for a custom issue. */
export function issueParams(protocolCode: ProtocolErrorCode): ProtocolIssueParams {
  return { protocolCode };
}

/**
 * A chunk's bytes. Typed as plain `Uint8Array` (any backing buffer) rather than what `z.instanceof` infers,
 * so Node's pooled `Buffer`s and `subarray` views are accepted.
 */
export const bytesField = z.custom<Uint8Array>((value) => value instanceof Uint8Array, { message: 'must be bytes' });
