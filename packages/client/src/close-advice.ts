/** What the end of a connection or attempt means: whether to reconnect, and the error that says why. */
import { type ReconnectAdvice, reconnectAdvice } from '@switchboard/protocol';
import { ClientErrorCode, type ErrorCode, SwitchboardError } from './errors.js';
import type { TransportClose } from './transport/transport.js';

export interface CloseAdvice {
  readonly advice: ReconnectAdvice;
  readonly error: SwitchboardError;
}

/**
 * The HTTP statuses of a refused handshake (protocol.md §2.1) and what each means; any other status is
 * `connect_failed` with `backoff`.
 */
const REFUSALS = {
  400: { code: 'unsupported_protocol', advice: 'never' },
  // A new token may fix it, if the application can get one (see `closeAdvice`).
  401: { code: 'invalid_token', advice: 'backoff' },
  403: { code: 'forbidden', advice: 'never' },
  // The URL's path is not the broker's WebSocket endpoint; retrying cannot fix it.
  404: { code: 'bad_request', advice: 'never' },
  426: { code: ClientErrorCode.connectFailed, advice: 'never' },
  503: { code: 'unavailable', advice: 'backoff' },
} as const satisfies Readonly<Record<number, { readonly code: ErrorCode; readonly advice: ReconnectAdvice }>>;

const OTHER_REFUSAL = { code: ClientErrorCode.connectFailed, advice: 'backoff' } as const;

/**
 * What a close means: the advice of protocol.md §11 for its close code, or of the HTTP status of a refused
 * handshake. A `cause` (the client dropped the connection itself: no welcome, no pong, no token) always
 * backs off. `canRenewToken`: the application gave `getToken`, so a 401 may not happen again.
 */
export function closeAdvice(event: TransportClose, cause: SwitchboardError | undefined, canRenewToken: boolean): CloseAdvice {
  if (cause !== undefined) return { advice: 'backoff', error: cause };
  const details = { closeCode: event.code, ...(event.error === undefined ? {} : { cause: event.error }) };
  if (event.status !== undefined) {
    const refusal: { readonly code: ErrorCode; readonly advice: ReconnectAdvice } = REFUSALS[event.status as keyof typeof REFUSALS] ?? OTHER_REFUSAL;
    return {
      advice: event.status === 401 && !canRenewToken ? 'never' : refusal.advice,
      error: new SwitchboardError(refusal.code, `the broker refused the connection with HTTP ${event.status}`, details),
    };
  }
  const message = `the connection closed with ${event.code}${event.reason === '' ? '' : ` (${event.reason})`}`;
  return { advice: reconnectAdvice(event.code), error: new SwitchboardError(ClientErrorCode.closed, message, details) };
}
