// `addEventListener` on the Node WebSocket: the DOM's listener shape (one event object) over the
// EventEmitter's arguments, as browser code written against the WebSocket API expects.
import type { WebSocketError } from '../errors.js';
import type { MessageData } from './websocket-options.js';

/** Each DOM-style listener's EventEmitter wrapper, so that `removeEventListener` finds what was added. */
const wrappers = new WeakMap<object, (...args: never[]) => void>();

/** The EventEmitter listener that calls `listener` with a DOM-style event object for `type`. */
export function domListener(type: string, listener: (event: unknown) => void): (...args: never[]) => void {
  const wrapped = toDomListener(type, listener);
  wrappers.set(listener, wrapped);
  return wrapped;
}

/** What `domListener` made of `listener`, if anything. */
export function wrappedDomListener(listener: object): ((...args: never[]) => void) | undefined {
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
