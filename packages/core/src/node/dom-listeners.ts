// The DOM-style face of the Node WebSocket: `onmessage` and friends, and `addEventListener`, with the
// DOM's listener shape (one event object) over the EventEmitter's arguments, as browser code written
// against the WebSocket API expects.
import { EventEmitter } from 'node:events';
import type { WebSocketError } from '../errors.js';
import type { MessageData, WebSocketEvents } from './websocket-options.js';

type OpenHandler = (event: { type: 'open' }) => void;
type MessageHandler = (event: { type: 'message'; data: MessageData }) => void;
type CloseHandler = (event: { type: 'close'; code: number; reason: string; wasClean: boolean }) => void;
type ErrorHandler = (event: { type: 'error'; error: WebSocketError }) => void;

/** The `on*` handlers of one WebSocket, made when the first is set. */
class DomHandlers {
  onopen: OpenHandler | null = null;
  onmessage: MessageHandler | null = null;
  onclose: CloseHandler | null = null;
  onerror: ErrorHandler | null = null;
}

/**
 * The WebSocket's browser-style listeners. A server's connections are served through the EventEmitter, so
 * the four `on*` handlers live in an object made on first use: four fields on every connection were 32
 * bytes of each idle one.
 */
export class DomStyleEmitter extends EventEmitter<WebSocketEvents> {
  /** The `on*` handlers, once one was set; the WebSocket calls them before the EventEmitter's listeners. */
  protected handlers: DomHandlers | undefined;

  /** Browser-style listener for `open`; the `open` event of the EventEmitter fires as well. */
  get onopen(): OpenHandler | null {
    return this.handlers?.onopen ?? null;
  }
  /** Sets the handler; null removes it. */
  set onopen(handler: OpenHandler | null) {
    (this.handlers ??= new DomHandlers()).onopen = handler;
  }

  /** Browser-style listener for each message; `event.data` as `binaryType` says for binary ones. */
  get onmessage(): MessageHandler | null {
    return this.handlers?.onmessage ?? null;
  }
  /** Sets the handler; null removes it. */
  set onmessage(handler: MessageHandler | null) {
    (this.handlers ??= new DomHandlers()).onmessage = handler;
  }

  /** Browser-style listener for the close, with its code, reason and whether the closing handshake completed. */
  get onclose(): CloseHandler | null {
    return this.handlers?.onclose ?? null;
  }
  /** Sets the handler; null removes it. */
  set onclose(handler: CloseHandler | null) {
    (this.handlers ??= new DomHandlers()).onclose = handler;
  }

  /** Browser-style listener for a failure; `close` follows it. */
  get onerror(): ErrorHandler | null {
    return this.handlers?.onerror ?? null;
  }
  /** Sets the handler; null removes it. */
  set onerror(handler: ErrorHandler | null) {
    (this.handlers ??= new DomHandlers()).onerror = handler;
  }

  /** Adds a DOM-style listener, which receives an event object (`{ type, data }`, `{ type, code, ... }`). */
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: never) => void): void {
    this.on(type, domListener(type, listener as (event: unknown) => void) as never);
  }

  /** Removes a listener added with `addEventListener`. */
  removeEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: never) => void): void {
    const wrapped = wrappedDomListener(listener);
    if (wrapped !== undefined) this.off(type, wrapped as never);
  }
}

/** Each DOM-style listener's EventEmitter wrapper, so that `removeEventListener` finds what was added. */
const wrappers = new WeakMap<object, (...args: never[]) => void>();

/** The EventEmitter listener that calls `listener` with a DOM-style event object for `type`. */
function domListener(type: string, listener: (event: unknown) => void): (...args: never[]) => void {
  const wrapped = toDomListener(type, listener);
  wrappers.set(listener, wrapped);
  return wrapped;
}

/** What `domListener` made of `listener`, if anything. */
function wrappedDomListener(listener: object): ((...args: never[]) => void) | undefined {
  return wrappers.get(listener);
}

function toDomListener(type: string, listener: (event: unknown) => void): (...args: never[]) => void {
  switch (type) {
    case 'message':
      return ((data: MessageData) => listener({ type, data })) as never;
    case 'close':
      return ((code: number, reason: string, wasClean: boolean) => listener({ type, code, reason, wasClean })) as never;
    case 'error':
      return ((error: WebSocketError) => listener({ type, error })) as never;
    default:
      return (() => listener({ type })) as never;
  }
}
