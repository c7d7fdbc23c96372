/**
 * Token refresh on an open connection (protocol.md §9), with `getToken` (without it there is nothing to
 * refresh): one `refresh` request at a time, timed from the expiry the broker announced in `welcome` or in
 * the last `refreshed`, and at once when the broker says the token expired. Its state is the connection's.
 */
import type { ErrorMessage, ProtocolErrorCode, RefreshedMessage } from '@switchboard/protocol';
import type { ClientContext } from './client-context.js';
import type { Connection } from './connection.js';
import { ClientErrorCode, SwitchboardError, type SwitchboardErrorDetails } from './errors.js';

/** protocol.md §9: "the SDK does [refresh] at about 90% of the token's lifetime". */
const TOKEN_REFRESH_FRACTION = 0.9;
/** setTimeout's largest delay; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Times the next refresh at 90% of the time left until `expiresAt` (none without an expiry). */
export function scheduleTokenRefresh(context: ClientContext, connection: Connection, expiresAt: number | undefined): void {
  const { settings, clock } = context;
  clock.clearTimeout(connection.refreshTimer);
  connection.refreshTimer = undefined;
  if (expiresAt === undefined || settings.getToken === undefined) return;
  const delay = Math.min(MAX_TIMER_MS, Math.max(0, (expiresAt - clock.now()) * TOKEN_REFRESH_FRACTION));
  connection.refreshTimer = clock.setTimeout(() => {
    connection.refreshTimer = undefined;
    void refreshToken(context, connection);
  }, delay);
}

/** Asks `getToken` for a token and sends it, unless a refresh is already under way. */
export async function refreshToken(context: ClientContext, connection: Connection): Promise<void> {
  const { settings } = context;
  if (settings.getToken === undefined || connection.refreshId !== undefined) return;
  let token: string | undefined;
  try {
    token = await settings.getToken();
  } catch (cause) {
    context.report(new SwitchboardError(ClientErrorCode.tokenUnavailable, 'getToken failed during a token refresh', { cause }));
    return;
  }
  if (context.connection !== connection || token === undefined || token === '') return;
  connection.refreshId = context.nextRequestId();
  connection.send({ op: 'refresh', id: connection.refreshId, token });
}

export function receiveRefreshed(context: ClientContext, connection: Connection, message: RefreshedMessage): void {
  if (message.id !== connection.refreshId) return;
  connection.refreshId = undefined;
  scheduleTokenRefresh(context, connection, message.tokenExpiresAt);
}

/** The broker refused request `id`; false when it was not the refresh. */
export function refreshRefused(context: ClientContext, connection: Connection, id: number, message: ErrorMessage, details: SwitchboardErrorDetails): boolean {
  if (id !== connection.refreshId) return false;
  connection.refreshId = undefined;
  context.report(new SwitchboardError(message.code as ProtocolErrorCode, `token refresh failed: ${message.message}`, details));
  return true;
}
