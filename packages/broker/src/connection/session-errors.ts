import { type ErrorMessage, type ProtocolError, ProtocolCloseCode, ProtocolErrorCode, closeCodeOf } from '@switchboard/protocol';
import { BrokerError, BrokerErrorCode } from '../errors.js';

/** An `error` message without its `op`. */
export type ErrorFields = Omit<ErrorMessage, 'op'>;

/**
 * Whom an answer concerns: a request's `id`, or for a publish without one its `topic` (protocol.md §5.1),
 * or neither (a notice about the connection).
 */
export type RequestAddress = { readonly id: number } | { readonly topic: string } | { readonly id?: number };

/** What is known of an invalid message: its request id, topic and transfer, when it got that far. */
export interface InvalidInputFields {
  readonly id?: number | undefined;
  readonly topic?: string | undefined;
  readonly transfer?: number | undefined;
}

/**
 * Whether an error code says the client sent something invalid, which counts toward `maxInvalidMessages`
 * (protocol.md §10: "a connection keeps sending invalid messages"): exactly the codes that the protocol's
 * one table closes with 4400. Refusals of well-formed requests (forbidden, rate_limited, ...) do not count.
 */
export function isInvalidInput(code: ProtocolErrorCode): boolean {
  return closeCodeOf(code) === ProtocolCloseCode.protocolViolation;
}

/** A publish's address: its id, or its topic when it has none. */
export function publishAddress(id: number | undefined, topic: string): { readonly id: number } | { readonly topic: string } {
  return id === undefined ? { topic } : { id };
}

/** The answer to invalid input, carrying whatever identifies the message. */
export function rejection(error: ProtocolError, fields: InvalidInputFields): ErrorFields {
  return {
    ...(fields.id === undefined ? {} : { id: fields.id }),
    ...(fields.topic === undefined ? {} : { topic: fields.topic }),
    ...(fields.transfer === undefined ? {} : { transfer: fields.transfer }),
    code: error.code,
    message: error.message,
  };
}

/**
 * The answer to a request the engine failed: `unavailable` with `retryAfterMs` when the engine is
 * unreachable (the client may retry), otherwise `internal`, which is a fault of ours and `unexpected` (log it).
 */
export function requestFailure(
  error: unknown,
  what: string,
  retryAfterMs: number,
): { readonly fields: Pick<ErrorFields, 'code' | 'message' | 'retryAfterMs'>; readonly unexpected: boolean } {
  if (error instanceof BrokerError && error.code === BrokerErrorCode.engineUnavailable) {
    return { fields: { code: ProtocolErrorCode.unavailable, message: `${what} failed: the engine is unavailable`, retryAfterMs }, unexpected: false };
  }
  return { fields: { code: ProtocolErrorCode.internal, message: `${what} failed` }, unexpected: true };
}

/**
 * The message of `presence_disabled` when this node serves no presence at all (no `PRESENCE` pattern, or an
 * engine without presence): `welcome.capabilities` does not announce it.
 */
export const PRESENCE_NOT_SERVED = 'this server keeps presence for no topic (no presence capability)';
