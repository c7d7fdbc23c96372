import { connect, type ConnectOptions, type WebSocketError } from '@switchboard/core';
import type { NetworkWatcher, TlsOptions, Transport, TransportEvents, TransportFactory, TransportOptions } from './transport.js';

/** Options of our RFC 6455 client that the Node transport lets an application set. */
export type NodeTransportOptions = Pick<ConnectOptions, 'handshakeTimeout' | 'maxMessageSize' | 'perMessageDeflate' | 'tls' | 'closeTimeout'>;

/**
 * A transport over `@switchboard/core`'s client. The token travels as `Authorization: Bearer` (protocol.md
 * §2.2, checked first by the server), and a refused handshake's HTTP status is reported so the client can
 * tell "bad token" (401) from "broker down". The client's `tls` option (CA, client certificate) goes to
 * core's client over any `tls` given here, field by field.
 */
export function createNodeTransport(connectOptions: NodeTransportOptions = {}): TransportFactory {
  return (options: TransportOptions, events: TransportEvents): Transport => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers['Authorization'] = `Bearer ${options.token}`;
    const tls = options.tls === undefined ? connectOptions.tls : { ...connectOptions.tls, ...connectionTls(options.tls) };
    const socket = connect(options.url, { ...connectOptions, protocols: [options.protocol], headers, ...(tls === undefined ? {} : { tls }) });
    let error: WebSocketError | undefined;
    socket.on('open', () => events.open());
    socket.on('message', (data) => {
      if (typeof data === 'string') events.message(data);
      // A plain Uint8Array view (no copy), so payloads have the same type in Node as in browsers.
      else events.message(data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    socket.on('drain', () => events.drain());
    socket.on('error', (cause) => {
      error = cause;
    });
    socket.on('close', (code, reason, wasClean) => {
      const status = error?.status;
      events.close({ code, reason, wasClean, ...(status === undefined ? {} : { status }), ...(error === undefined ? {} : { error }) });
    });
    return {
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
      send(data) {
        socket.send(data);
      },
      close(code, reason) {
        socket.close(code, reason);
      },
    };
  };
}

/**
 * The SDK's TLS options as `tls.connect` types them. Only the types differ: Node reads PEM from any
 * `Uint8Array`, not only a `Buffer`, and does not change the arrays it is given.
 */
function connectionTls(tls: TlsOptions): NonNullable<NodeTransportOptions['tls']> {
  return tls as NonNullable<NodeTransportOptions['tls']>;
}

/** The platform transport: our RFC 6455 client. */
export const createTransport: TransportFactory = createNodeTransport();

/** Node has no `online` event; reconnecting follows the backoff alone. */
export const watchNetwork: NetworkWatcher = () => () => {};
