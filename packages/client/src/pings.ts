/** Application-level pings (protocol.md §5.1): the keepalive that finds dead connections, and `ping()`. */
import type { ErrorMessage, ProtocolErrorCode } from '@switchboard/protocol';
import type { ClientContext } from './client-context.js';
import type { Connection } from './connection.js';
import { ClientErrorCode, SwitchboardError, type SwitchboardErrorDetails } from './errors.js';

interface PendingPing {
  readonly sentAt: number;
  resolve(rtt: number): void;
  reject(error: SwitchboardError): void;
}

/**
 * Pings on the client's connection. Browsers cannot see WebSocket pings, so the client sends a `ping`
 * message every `pingIntervalMs` (one unanswered at a time) and hands the connection to `dead` when no
 * `pong` follows within `pingTimeoutMs`. `ping()` round trips use the same messages.
 */
export class Pings {
  readonly #context: ClientContext;
  readonly #dead: (connection: Connection, error: SwitchboardError) => void;
  /** `ping()` calls waiting for their pong, by request id. */
  readonly #pending = new Map<number, PendingPing>();

  constructor(context: ClientContext, dead: (connection: Connection, error: SwitchboardError) => void) {
    this.#context = context;
    this.#dead = dead;
  }

  /** Round trip to the broker in ms. Rejects if the connection ends first. */
  ping(): Promise<number> {
    const { connection, clock } = this.#context;
    if (connection?.welcome === undefined) {
      return Promise.reject(new SwitchboardError(ClientErrorCode.connectionLost, 'not connected'));
    }
    return new Promise((resolve, reject) => {
      const id = this.#context.nextRequestId();
      this.#pending.set(id, { sentAt: clock.now(), resolve, reject });
      connection.send({ op: 'ping', id });
    });
  }

  /** Starts the keepalive of a welcomed connection; it stops with the connection's timers. */
  start(connection: Connection): void {
    const { settings, clock } = this.#context;
    if (settings.pingIntervalMs <= 0) return;
    // The clock has one-shot timers only: each tick arms the next, which keeps the period of setInterval.
    const tick = (): void => {
      connection.pingTimer = clock.setTimeout(tick, settings.pingIntervalMs);
      if (this.#context.connection !== connection || connection.pongTimer !== undefined) return;
      connection.send({ op: 'ping', id: this.#context.nextRequestId() });
      connection.pongTimer = clock.setTimeout(() => {
        connection.pongTimer = undefined;
        this.#dead(connection, new SwitchboardError(ClientErrorCode.pingTimeout, `no pong within ${settings.pingTimeoutMs} ms`));
      }, settings.pingTimeoutMs);
    };
    connection.pingTimer = clock.setTimeout(tick, settings.pingIntervalMs);
  }

  /** Any pong shows the connection alive; one for a `ping()` settles it. */
  receivePong(connection: Connection, id: number): void {
    const { clock } = this.#context;
    clock.clearTimeout(connection.pongTimer);
    connection.pongTimer = undefined;
    const ping = this.#pending.get(id);
    if (ping !== undefined) {
      this.#pending.delete(id);
      ping.resolve(clock.now() - ping.sentAt);
    }
  }

  /** The broker refused a request; false when it was not a `ping()`. */
  refused(id: number, message: ErrorMessage, details: SwitchboardErrorDetails): boolean {
    const ping = this.#pending.get(id);
    if (ping === undefined) return false;
    this.#pending.delete(id);
    ping.reject(new SwitchboardError(message.code as ProtocolErrorCode, message.message, details));
    return true;
  }

  /** The connection ended: waiting `ping()` calls reject, with `final` when the client stopped. */
  connectionLost(final: SwitchboardError | undefined): void {
    const lost = final ?? new SwitchboardError(ClientErrorCode.connectionLost, 'the connection ended before the answer arrived');
    for (const [id, ping] of this.#pending) {
      this.#pending.delete(id);
      ping.reject(lost);
    }
  }
}
