import { BrokerError, BrokerErrorCode } from '../errors.js';

/**
 * How the Redis engine words its failures. Every operational failure is `ERR_BROKER_ENGINE_UNAVAILABLE`
 * (the engine contract: the backend could not confirm the operation), with what failed and the underlying
 * error in the message, so that an operator reading one log line knows which connection or step broke.
 */
export function unavailable(message: string, cause?: unknown): BrokerError {
  return new BrokerError(
    BrokerErrorCode.engineUnavailable,
    `redis engine: ${message}${cause instanceof Error ? `: ${cause.message}` : ''}`,
    cause === undefined ? undefined : { cause },
  );
}

export function closedError(): BrokerError {
  return new BrokerError(BrokerErrorCode.engineClosed, 'engine closed');
}

/** Rejects with `unavailable` when `promise` has not settled within `timeoutMs`; `what` names the step. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
