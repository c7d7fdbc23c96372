import { type ProtocolErrorCode, isRetryableError } from '@switchboard/protocol';

/**
 * Failures the SDK itself detects, as stable string codes beside the protocol's own (protocol.md §10). Once
 * published a code never changes meaning: applications branch on it.
 */
export const ClientErrorCode = {
  /** The publish did not fit: the queue of unwritten publishes is at `sendQueue.maxMessages` or `maxBytes`. */
  sendQueueFull: 'send_queue_full',
  /** The publish waited longer than `sendQueue.timeoutMs` without being written (typically: offline). */
  sendTimeout: 'send_timeout',
  /** The publish was written but its ack did not arrive within `ackTimeoutMs`. */
  ackTimeout: 'ack_timeout',
  /**
   * The connection ended after the publish was written and before its ack arrived: it may or may not have
   * been published. Publishes with an idempotency `key` are resent instead (protocol.md §8.4).
   */
  connectionLost: 'connection_lost',
  /** `close()` was called, or the client stopped for good, while the request was pending. */
  clientClosed: 'client_closed',
  /** An `rpc` got no answer within its `timeoutMs` (the backend may still have run it). */
  timeout: 'timeout',
  /** The caller's `AbortSignal` fired. */
  aborted: 'aborted',
  /** A payload that is not a JSON value, or that the topic's schema rejected (either direction). */
  invalidPayload: 'invalid_payload',
  /** `getToken` threw or rejected. */
  tokenUnavailable: 'token_unavailable',
  /** The WebSocket handshake failed for a reason the protocol has no code for (network, proxy, status). */
  connectFailed: 'connect_failed',
  /** No `pong` arrived within `pingTimeoutMs`: the connection is considered dead and is replaced. */
  pingTimeout: 'ping_timeout',
  /** The server sent something this SDK could not decode, or a delivery whose reassembly failed. */
  badServerMessage: 'bad_server_message',
  /** The connection closed with a close code; `closeCode` says which. */
  closed: 'closed',
  /** A message handler or event listener of the application threw; `cause` holds what it threw. */
  handlerFailed: 'handler_failed',
  /**
   * The broker's `welcome` did not announce the capability a call needs (`presence`, `user_topics`,
   * `server_subscriptions`; protocol.md §2.3), or no connection was welcomed yet to say.
   */
  unsupported: 'unsupported',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Every code a {@link SwitchboardError} can carry: the protocol's (from the broker) and the SDK's. */
export type ErrorCode = ProtocolErrorCode | ClientErrorCode;

/** What a {@link SwitchboardError} may say beyond its code. */
export interface SwitchboardErrorDetails {
  /** The WebSocket close code, when the error ended (or came with the end of) a connection. */
  readonly closeCode?: number;
  /** With `rate_limited` and `unavailable`: when retrying makes sense. */
  readonly retryAfterMs?: number;
  /** The topic or pattern the failed request named. */
  readonly topic?: string;
  /** What caused this error, e.g. the exception `getToken` threw. */
  readonly cause?: unknown;
}

/**
 * The one error class of the SDK. `code` is stable (protocol codes from the broker, {@link ClientErrorCode}s
 * from the SDK); `message` is for humans.
 */
export class SwitchboardError extends Error {
  /** Always `SwitchboardError`, so logs and `String(error)` name the class. */
  override readonly name = 'SwitchboardError';
  /** The stable code to branch on: the broker's (`forbidden`, `rate_limited` ...) or the SDK's. */
  readonly code: ErrorCode;
  /** The WebSocket close code, when the error ended (or came with the end of) a connection. */
  readonly closeCode: number | undefined;
  /** With `rate_limited` and `unavailable`: how long to wait, in milliseconds, before retrying. */
  readonly retryAfterMs: number | undefined;
  /** The topic or pattern the failed request named, when it named one. */
  readonly topic: string | undefined;

  constructor(code: ErrorCode, message: string, details: SwitchboardErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.closeCode = details.closeCode;
    this.retryAfterMs = details.retryAfterMs;
    this.topic = details.topic;
  }

  /** Whether the same request may succeed later (protocol.md §10 "Retryable"; SDK codes: never). */
  get retryable(): boolean {
    return isRetryableError(this.code as ProtocolErrorCode);
  }
}

/** Whether `error` is a {@link SwitchboardError}, optionally with the given code. */
export function isSwitchboardError(error: unknown, code?: ErrorCode): error is SwitchboardError {
  return error instanceof SwitchboardError && (code === undefined || error.code === code);
}
