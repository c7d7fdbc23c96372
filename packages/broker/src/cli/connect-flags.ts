import { type Client, ClientErrorCode, type StateChange, createClient } from '@switchboard/client';
import { type CommandIo, report } from './command-io.js';

/**
 * `--url` and `--token`, shared by `sub` and `pub`. The environment gives defaults (SWITCHBOARD_URL,
 * SWITCHBOARD_TOKEN), so a token need not sit in the shell history or the process list.
 */

export const connectOptions = {
  url: { type: 'string' },
  token: { type: 'string' },
} as const;

export const connectUsage = `  --url URL       the broker's WebSocket URL (default: $SWITCHBOARD_URL, else ws://127.0.0.1:8080/)
  --token TOKEN   a bearer token (default: $SWITCHBOARD_TOKEN; \`switchboard token\` mints one)`;

export const defaultUrl = 'ws://127.0.0.1:8080/';

export interface ConnectValues {
  readonly url?: string | undefined;
  readonly token?: string | undefined;
}

/**
 * A client with the SDK's defaults (it reconnects, and recovers subscriptions by offset), reporting on
 * stderr when it loses or gives up its connection.
 */
export function connectClient(values: ConnectValues, io: CommandIo): Client {
  const url = values.url ?? io.env['SWITCHBOARD_URL'] ?? defaultUrl;
  const token = values.token ?? io.env['SWITCHBOARD_TOKEN'];
  const client = createClient({ url, ...(token === undefined || token === '' ? {} : { token }) });
  client.on('state', (change: StateChange) => {
    if (change.state === 'disconnected') {
      report(io, `disconnected from ${url}: ${describeChange(change)}; retrying in ${change.retryInMs ?? 0} ms`);
    } else if (change.state === 'closed' && change.error !== undefined && change.error.code !== ClientErrorCode.clientClosed) {
      report(io, `connection to ${url} closed: ${describeChange(change)}`);
    }
  });
  return client;
}

function describeChange(change: StateChange): string {
  const why = change.error === undefined ? change.reason : `${change.error.code}: ${change.error.message}`;
  return `${why ?? 'connection lost'}${change.closeCode === undefined ? '' : ` (close ${change.closeCode})`}`;
}

/** Resolves when the client is closed for good (the broker refused it, or `close()`), with its error. */
export function closedForGood(client: Client): Promise<StateChange> {
  return new Promise((resolve) => {
    const listener = (change: StateChange): void => {
      if (change.state !== 'closed') return;
      client.off('state', listener);
      resolve(change);
    };
    client.on('state', listener);
  });
}
