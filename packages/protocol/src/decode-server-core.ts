import { isJsonObject } from './binary-envelope.js';
import { ProtocolLimit, SUBPROTOCOL } from './constants.js';
import { type DecodeResult, type DirectionDecoders, type OpDecoder, type WireData, decodeFailure, decodeWith } from './decode-frame.js';
import { ProtocolErrorCode } from './errors.js';
import type { CoreServerMessage } from './messages.js';
import { PAYLOAD_ENCODINGS } from './payload.js';
import { PRIORITIES } from './priorities.js';
import { GAP_REASONS, RECOVERY_FAILURE_REASONS } from './reasons.js';
import { parsePattern, parseTopic } from './topics.js';

/**
 * What a client receives, checked by hand rather than by the zod schemas of messages-server.ts, so that
 * the browser bundle carries no zod (about 15 KiB gzipped). The schemas stay the reference: a differential
 * test feeds both the same valid and broken messages and requires the same outcome, error code and output
 * (unknown fields dropped, optional fields absent rather than undefined). Fields are checked in the
 * schemas' order, so the first failure, and with it the error code, is the one zod would report.
 *
 * This file holds the checks and the core ops (protocol.md §5.2); decode-server.ts adds the ops of §13 and
 * §14. A client that uses no capability decodes with
 * {@link decodeCoreServerMessage}: the other ops are then `unknown_op`, which it ignores (protocol.md §1),
 * and its bundle does not carry their checks.
 */

/** Decodes the core ops a client receives. Never throws: garbage becomes an error result with its protocol code. */
export function decodeCoreServerMessage(data: WireData): DecodeResult<CoreServerMessage> {
  return decodeWith(coreServerDecoders, data) as DecodeResult<CoreServerMessage>;
}

/** A field that failed its check: where, why, and which protocol error code that makes. */
export class Invalid {
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly code: ProtocolErrorCode = ProtocolErrorCode.badRequest,
  ) {}
}

export type Fields = Record<string, unknown>;
export type Check<T> = (value: unknown, path: string) => T;

export function invalid(path: string, reason: string, code?: ProtocolErrorCode): never {
  throw new Invalid(path, reason, code);
}

function integerFrom(minimum: number): Check<number> {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) invalid(path, 'must be an integer');
    if (value < minimum) invalid(path, `must be at least ${minimum}`);
    if (value > ProtocolLimit.maxInteger) invalid(path, `must be at most ${ProtocolLimit.maxInteger}`);
    return value;
  };
}

export const requestId = integerFrom(1);
const transferId = integerFrom(1);
export const offset = integerFrom(0);
const messageOffset = integerFrom(1);
export const nonNegativeInteger = integerFrom(0);
const positiveInteger = integerFrom(1);
const timestamp = integerFrom(0);

export const text: Check<string> = (value, path) => (typeof value === 'string' ? value : invalid(path, 'must be a string'));

export function textOfLength(maxLength: number): Check<string> {
  return (value, path) => {
    const checked = text(value, path);
    if (checked.length < 1) invalid(path, 'must be at least 1 characters');
    if (checked.length > maxLength) invalid(path, `must be at most ${maxLength} characters`);
    return checked;
  };
}

export const epoch: Check<string> = (value, path) => {
  const checked = textOfLength(ProtocolLimit.maxEpochLength)(value, path);
  return /^[!-~]+$/.test(checked) ? checked : invalid(path, 'must be visible ASCII');
};

export const boolean: Check<boolean> = (value, path) => (typeof value === 'boolean' ? value : invalid(path, 'must be boolean'));

export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (value, path) =>
    values.includes(value as T) ? (value as T) : invalid(path, `must be one of ${values.map((entry) => JSON.stringify(entry)).join(', ')}`);
}

export function literal<T extends string>(expected: T): Check<T> {
  return oneOf([expected]);
}

const errorCode: Check<string> = (value, path) =>
  typeof value === 'string' && value.length > 0 ? value : invalid(path, 'must be a non-empty string');

export const topic: Check<string> = (value, path) => {
  const parsed = parseTopic(text(value, path));
  return parsed.ok ? (value as string) : invalid(path, parsed.error.message, parsed.error.code);
};

export const pattern: Check<string> = (value, path) => {
  const parsed = parsePattern(text(value, path));
  return parsed.ok ? (value as string) : invalid(path, parsed.error.message, parsed.error.code);
};

/** `data` of the text form: any JSON value, only its presence is checked (as payloadField does). */
export const payload: Check<unknown> = (value, path) => (value === undefined ? invalid(path, 'data is required') : value);

/** A non-empty string of any length (a user id). */
export const nonEmptyText: Check<string> = (value, path) => (text(value, path).length > 0 ? (value as string) : invalid(path, 'must be at least 1 characters'));

/** An array whose entries all pass `check`, checked in order as zod does. */
function arrayOf<T>(check: Check<T>): Check<T[]> {
  return (value, path) => (Array.isArray(value) ? value.map((entry, index) => check(entry, `${path}.${index}`)) : invalid(path, 'must be array'));
}

export function object(value: unknown, path: string): Fields {
  return isJsonObject(value) ? value : invalid(path, 'must be object');
}

/**
 * Checks `shape`'s fields of `value` in order and returns only them, as a zod object does; a field named in
 * `optional` may be absent (then it is absent from the output too).
 */
export function fields(value: Fields, path: string, shape: Readonly<Record<string, Check<unknown>>>, optional: readonly string[] = []): Fields {
  const output: Fields = {};
  for (const [key, check] of Object.entries(shape)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (!(key in value) && optional.includes(key)) continue;
    output[key] = check(value[key], at);
  }
  return output;
}

const publishRate: Check<Fields> = (value, path) =>
  fields(object(value, path), path, {
    perSecond: (rate, at) => (typeof rate === 'number' && Number.isFinite(rate) && rate > 0 ? rate : invalid(at, 'must be a positive number')),
    burst: positiveInteger,
  });

const limits: Check<Fields> = (value, path) => {
  const checked = fields(
    object(value, path),
    path,
    {
      maxMessageBytes: positiveInteger,
      chunkBytes: positiveInteger,
      maxFrameBytes: positiveInteger,
      maxSubscriptions: nonNegativeInteger,
      maxConcurrentTransfers: positiveInteger,
      maxIncompleteBytes: positiveInteger,
      chunkTimeoutMs: positiveInteger,
      idempotencyWindowMs: nonNegativeInteger,
      tokenGraceMs: nonNegativeInteger,
      publishRate,
    },
    ['publishRate'],
  );
  const number = (key: string): number => checked[key] as number;
  // The consistency rules of protocol.md §12, as serverLimitsSchema states them.
  if (number('maxMessageBytes') < number('chunkBytes')) invalid(`${path}.maxMessageBytes`, 'must be at least chunkBytes');
  if (number('maxFrameBytes') < number('chunkBytes') + ProtocolLimit.headerLengthPrefixBytes + ProtocolLimit.maxHeaderBytes) {
    invalid(`${path}.maxFrameBytes`, 'must fit a full chunk: chunkBytes + 4 + 4096');
  }
  if (number('maxIncompleteBytes') < number('maxMessageBytes')) invalid(`${path}.maxIncompleteBytes`, 'must be at least maxMessageBytes');
  return checked;
};

/** The optional `presence` of a recovery entry (protocol.md §13.4). */
const presenceRecovery: Check<Fields> = (value, path) => {
  const result = object(value, path);
  if (result['status'] === 'recovered') return fields(result, path, { status: literal('recovered'), seq: offset });
  if (result['status'] === 'failed') return fields(result, path, { status: literal('failed'), reason: oneOf(RECOVERY_FAILURE_REASONS), seq: offset });
  return invalid(`${path}.status`, 'matches none of the allowed shapes');
};

const recoveryResult: Check<Fields> = (value, path) => {
  const result = object(value, path);
  if (result['status'] === 'recovered') {
    return fields(result, path, { status: literal('recovered'), epoch, offset, presence: presenceRecovery }, ['presence']);
  }
  if (result['status'] === 'failed') {
    return fields(result, path, { status: literal('failed'), reason: oneOf(RECOVERY_FAILURE_REASONS), epoch, offset, presence: presenceRecovery }, ['presence']);
  }
  return invalid(`${path}.status`, 'matches none of the allowed shapes');
};

const recovery: Check<Fields> = (value, path) => {
  const output: Fields = {};
  for (const [key, entry] of Object.entries(object(value, path))) output[key] = recoveryResult(entry, `${path}.${key}`);
  return output;
};

/** `subscribed.latest` (protocol.md §8.6). */
const latest: Check<Fields> = (value, path) => fields(object(value, path), path, { epoch, offset, replayed: boolean });

const deliveryHeaderShape = { op: literal('message'), topic, priority: oneOf(PRIORITIES), offset: messageOffset, epoch };

export const deliveryHeader: Check<Fields> = (value, path) => fields(object(value, path), path, deliveryHeaderShape);

/** Each op's check, given the message's fields; the binary forms get their payload added by `decoder`. */
export const coreTextChecks: Record<string, (value: Fields) => Fields> = {
  welcome: (value) =>
    fields(
      value,
      '',
      {
        op: literal('welcome'),
        protocol: literal(SUBPROTOCOL),
        connectionId: textOfLength(ProtocolLimit.maxConnectionIdLength),
        node: text,
        limits,
        tokenExpiresAt: timestamp,
        capabilities: arrayOf(text),
        user: nonEmptyText,
        userTopicPrefix: text,
        subscriptions: arrayOf(pattern),
      },
      ['node', 'tokenExpiresAt', 'capabilities', 'user', 'userTopicPrefix', 'subscriptions'],
    ),
  subscribed: (value) => fields(value, '', { op: literal('subscribed'), id: requestId, pattern, recovery, latest, server: boolean }, ['recovery', 'latest', 'server']),
  unsubscribed: (value) => fields(value, '', { op: literal('unsubscribed'), id: requestId, pattern, code: errorCode }, ['id', 'code']),
  published: (value) =>
    fields(value, '', { op: literal('published'), id: requestId, offset, epoch, duplicate: boolean }, ['offset', 'epoch', 'duplicate']),
  refreshed: (value) => fields(value, '', { op: literal('refreshed'), id: requestId, tokenExpiresAt: timestamp }, ['tokenExpiresAt']),
  pong: (value) => fields(value, '', { op: literal('pong'), id: requestId }),
  message: (value) => fields(value, '', { ...deliveryHeaderShape, data: payload }),
  gap: (value) => {
    const gap = fields(value, '', { op: literal('gap'), topic, epoch, from: messageOffset, to: messageOffset, reason: oneOf(GAP_REASONS) });
    if ((gap['from'] as number) > (gap['to'] as number)) invalid('to', 'must not be below from');
    return gap;
  },
  error: (value) =>
    fields(
      value,
      '',
      {
        op: literal('error'),
        id: requestId,
        code: errorCode,
        message: text,
        topic: text,
        transfer: transferId,
        retryAfterMs: nonNegativeInteger,
      },
      ['id', 'topic', 'transfer', 'retryAfterMs'],
    ),
  cancel: (value) => fields(value, '', { op: literal('cancel'), transfer: transferId }),
};

/** A `chunk` header whose first chunk carries a header that passes `header`. */
export function chunkCheck(header: Check<Fields>): (value: Fields) => Fields {
  return (value) => {
    const chunk = fields(
      value,
      '',
      {
        op: literal('chunk'),
        transfer: transferId,
        index: nonNegativeInteger,
        last: boolean,
        total: positiveInteger,
        encoding: oneOf(PAYLOAD_ENCODINGS),
        header,
      },
      ['total', 'encoding', 'header'],
    );
    // `total`, `encoding` and `header` travel on the first chunk and on no other (protocol.md §7.2).
    const isFirst = chunk['index'] === 0;
    for (const field of ['total', 'encoding', 'header']) {
      const present = chunk[field] !== undefined;
      if (isFirst && !present) invalid(field, `the first chunk must carry ${field}`);
      if (!isFirst && present) invalid(field, `only the first chunk carries ${field}`);
    }
    return chunk;
  };
}

export const binaryHeaderChecks: Record<string, (value: Fields) => Fields> = {
  message: (value) => deliveryHeader(value, ''),
  chunk: chunkCheck(deliveryHeader),
};

function decoder(check: (value: Fields) => Fields): OpDecoder {
  return (value, op, bytes) => {
    try {
      const message = check(value);
      return { ok: true, message: bytes === undefined ? message : { ...message, data: bytes } };
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      return decodeFailure(error.code, `${error.path === '' ? op : `${op}.${error.path}`}: ${error.reason}`, value);
    }
  };
}

export function decoders(checks: Record<string, (value: Fields) => Fields>): Record<string, OpDecoder> {
  return Object.fromEntries(Object.entries(checks).map(([op, check]) => [op, decoder(check)]));
}

const coreServerDecoders: DirectionDecoders = { text: decoders(coreTextChecks), binaryHeader: decoders(binaryHeaderChecks) };
