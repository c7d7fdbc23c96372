import type { NetworkWatcher, TransportFactory } from './transport.js';
/**
 * The part of the browser's `WebSocket` the transport uses. The `ws` package and Node 22's global
 * `WebSocket` have it too, so this transport also runs in Node tests and in other runtimes.
 */
export interface WebSocketLike {
    binaryType: string;
    readonly bufferedAmount: number;
    readonly protocol: string;
    onopen: ((event: unknown) => void) | null;
    onmessage: ((event: {
        readonly data: unknown;
    }) => void) | null;
    onclose: ((event: {
        readonly code: number;
        readonly reason: string;
        readonly wasClean: boolean;
    }) => void) | null;
    onerror: ((event: unknown) => void) | null;
    send(data: string | ArrayBufferView | ArrayBuffer): void;
    close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;
/**
 * A transport over a browser-style `WebSocket` constructor (by default the global one, looked up when a
 * connection opens). The token travels as a `bearer.<token>` subprotocol entry (protocol.md §2.2: browsers
 * cannot set `Authorization`); the server never selects it.
 */
export declare function createWebSocketTransport(WebSocketClass?: WebSocketConstructor): TransportFactory;
/** The platform transport: the global `WebSocket`. */
export declare const createTransport: TransportFactory;
/** Reconnect at once when the browser regains network (protocol.md §11 allows it; backoff would wait). */
export declare const watchNetwork: NetworkWatcher;
