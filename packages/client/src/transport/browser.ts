import { BEARER_PROTOCOL_PREFIX } from '@switchboard/protocol';
import type { NetworkWatcher, Transport, TransportEvents, TransportFactory, TransportOptions } from './transport.js';

/**
 * The part of the browser's `WebSocket` the transport uses. The `ws` package and Node 22's global
 * `WebSocket` have it too, so this transport also runs in Node tests and in other runtimes.
 */
export interface WebSocketLike {
  /** Set to `arraybuffer` by the transport: a `Blob` would need an asynchronous read and could reorder messages. */
  binaryType: string;
  /** Bytes sent and not yet on the network; polled for the transport's `drain`, since browsers have no event. */
  readonly bufferedAmount: number;
  /** The subprotocol the server selected. */
  readonly protocol: string;
  /** Called once the handshake succeeded. */
  onopen: ((event: unknown) => void) | null;
  /** Called for each message; `data` is a string, an `ArrayBuffer` or a typed array view. */
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  /** Called once when the connection ends or fails to open. */
  onclose: ((event: { readonly code: number; readonly reason: string; readonly wasClean: boolean }) => void) | null;
  /** Called on a failure; `close` follows. The event's `error`, where an implementation sets one, is kept. */
  onerror: ((event: unknown) => void) | null;
  /** Sends one whole message: a string as text, bytes as binary. */
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  /** Starts the closing handshake with an optional code and reason. */
  close(code?: number, reason?: string): void;
}

/** A `WebSocket` constructor as browsers, Node 22 and the `ws` package have it: `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * A transport over a browser-style `WebSocket` constructor (by default the global one, looked up when a
 * connection opens). The token travels as a `bearer.<token>` subprotocol entry (protocol.md §2.2: browsers
 * cannot set `Authorization`); the server never selects it.
 */
export function createWebSocketTransport(WebSocketClass?: WebSocketConstructor): TransportFactory {
  return (options: TransportOptions, events: TransportEvents): Transport => {
    const Constructor = WebSocketClass ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Constructor === undefined) throw new TypeError('no global WebSocket: pass a WebSocket constructor to createWebSocketTransport');
    const protocols = options.token === undefined ? [options.protocol] : [options.protocol, `${BEARER_PROTOCOL_PREFIX}${options.token}`];
    const socket = new Constructor(options.url, protocols);
    // Binary messages as ArrayBuffer: a Blob would need an async read and could reorder messages.
    socket.binaryType = 'arraybuffer';
    let closed = false;
    let error: Error | undefined;
    let drainTimer: ReturnType<typeof setTimeout> | undefined;
    let lastBuffered = 0;

    // Browsers have no `drain` event: while bytes are buffered, poll `bufferedAmount` and report decreases.
    const pollDrain = (): void => {
      drainTimer = undefined;
      if (closed) return;
      const buffered = socket.bufferedAmount;
      if (buffered < lastBuffered) events.drain();
      lastBuffered = buffered;
      if (buffered > 0) drainTimer = setTimeout(pollDrain, DRAIN_POLL_MS);
    };

    socket.onopen = () => events.open();
    socket.onmessage = (event) => {
      const { data } = event;
      if (typeof data === 'string') events.message(data);
      else if (data instanceof ArrayBuffer) events.message(new Uint8Array(data));
      else if (ArrayBuffer.isView(data)) events.message(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    };
    socket.onerror = (event) => {
      // Browsers say nothing useful here on purpose; `close` (1006) follows.
      const candidate = (event as { error?: unknown } | null)?.error;
      error = candidate instanceof Error ? candidate : new Error('WebSocket error');
    };
    socket.onclose = (event) => {
      if (closed) return;
      closed = true;
      clearTimeout(drainTimer);
      events.close({ code: event.code, reason: event.reason, wasClean: event.wasClean, ...(error === undefined ? {} : { error }) });
    };

    return {
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
      send(data) {
        socket.send(data);
        lastBuffered = socket.bufferedAmount;
        if (drainTimer === undefined && lastBuffered > 0) drainTimer = setTimeout(pollDrain, DRAIN_POLL_MS);
      },
      close(code, reason) {
        socket.close(code, reason);
      },
    };
  };
}

/** How often `bufferedAmount` is polled while data is buffered (browsers have no `drain` event). */
const DRAIN_POLL_MS = 10;

/** The platform transport: the global `WebSocket`. */
export const createTransport: TransportFactory = createWebSocketTransport();

/** Reconnect at once when the browser regains network (protocol.md §11 allows it; backoff would wait). */
export const watchNetwork: NetworkWatcher = (onOnline) => {
  const target = globalThis as { addEventListener?: (type: string, listener: () => void) => void; removeEventListener?: (type: string, listener: () => void) => void };
  if (typeof target.addEventListener !== 'function') return () => {};
  const listener = (): void => onOnline();
  target.addEventListener('online', listener);
  return () => target.removeEventListener?.('online', listener);
};
