/** What the parts of one client share: settings, time, events, request ids, and where the connection stands. */
import type { Capability, ServerLimits, WelcomeMessage } from '@switchboard/protocol';
import type { ClientEvents, ConnectionState, Settings } from './client-options.js';
import type { Clock } from './clock.js';
import type { Connection } from './connection.js';
import { Emitter } from './emitter.js';
import { ClientErrorCode, SwitchboardError } from './errors.js';

/**
 * One client's shared state. The connection lifecycle alone writes `state`, `connection` and `limits`;
 * the other parts read them, and call the rest.
 */
export class ClientContext {
  readonly settings: Settings;
  readonly clock: Clock;
  readonly events = new Emitter<ClientEvents>((cause, event) => this.#listenerFailed(cause, event));
  state: ConnectionState = 'disconnected';
  /** The connection from the moment its transport exists until it ends; `undefined` in between. */
  connection: Connection | undefined;
  /** The current (or last) broker's limits, from its `welcome`. */
  limits: ServerLimits | undefined;
  /** The current (or last) connection's `welcome`: capabilities, user, server-side subscriptions. */
  welcome: WelcomeMessage | undefined;
  #lastRequestId = 0;

  constructor(settings: Settings) {
    this.settings = settings;
    this.clock = settings.clock;
  }

  /** One id sequence for every request the client sends, on any connection. */
  nextRequestId(): number {
    return ++this.#lastRequestId;
  }

  /**
   * `unsupported` when the broker's `welcome` did not announce `capability` (protocol.md §2.3: a client
   * sends no op of §13/§14 without it); `undefined` when it did.
   */
  unsupported(capability: Capability, what: string): SwitchboardError | undefined {
    const welcome = this.welcome;
    if (welcome?.capabilities?.includes(capability) === true) return undefined;
    const why = welcome === undefined ? 'before the first connection' : `the broker does not serve ${capability}`;
    return new SwitchboardError(ClientErrorCode.unsupported, `${what}: ${why}`);
  }

  /** Something went wrong that no promise reports: the `error` event, or the console when nobody listens. */
  report(error: SwitchboardError): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', error);
    // Nobody listens: a loss must still not be silent.
    else console.warn(`[switchboard] ${error.code}: ${error.message}`);
  }

  /** Runs an application callback; what it throws is reported, never thrown into the client. */
  callSafely(callback: () => void): void {
    try {
      callback();
    } catch (cause) {
      this.report(new SwitchboardError(ClientErrorCode.handlerFailed, `a handler threw: ${describe(cause)}`, { cause }));
    }
  }

  #listenerFailed(cause: unknown, event: keyof ClientEvents): void {
    // An `error` listener that throws is not reported through `error` again (that could loop).
    if (event === 'error') console.error('[switchboard] an error listener threw', cause);
    else this.report(new SwitchboardError(ClientErrorCode.handlerFailed, `a ${event} listener threw: ${describe(cause)}`, { cause }));
  }
}

/** What every request made after `close()` (or after the client stopped) rejects with. */
export function closedError(): SwitchboardError {
  return new SwitchboardError(ClientErrorCode.clientClosed, 'the client is closed');
}

/** An exception as words for an error message. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
