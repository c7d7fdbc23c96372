/**
 * Failures raised by the broker's building blocks. Every code is a stable string: once published it never
 * changes, because operators alert on it and clients branch on it. The session maps them to pubsub.v1 error
 * frames and close codes; this table stays free of wire numbers so it can be shared by every layer.
 */
export const BrokerErrorCode = {
  /** A topic is empty, has an empty segment, or contains a wildcard (topics name one stream). */
  invalidTopic: 'ERR_BROKER_INVALID_TOPIC',
  /** A pattern is empty, has an empty segment, uses `*` or `>` inside a segment, or `>` before the end. */
  invalidPattern: 'ERR_BROKER_INVALID_PATTERN',
  /** The engine cannot reach its backend (e.g. Redis is down): the publish did not happen. */
  engineUnavailable: 'ERR_BROKER_ENGINE_UNAVAILABLE',
  /** The engine was used before `start()` resolved. */
  engineNotStarted: 'ERR_BROKER_ENGINE_NOT_STARTED',
  /** `start()` was called a second time. */
  engineAlreadyStarted: 'ERR_BROKER_ENGINE_ALREADY_STARTED',
  /** The engine was used after `close()`. */
  engineClosed: 'ERR_BROKER_ENGINE_CLOSED',
} as const;
export type BrokerErrorCode = (typeof BrokerErrorCode)[keyof typeof BrokerErrorCode];

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  /** Stable string code, e.g. `ERR_BROKER_ENGINE_UNAVAILABLE`. */
  readonly code: BrokerErrorCode;

  constructor(code: BrokerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
