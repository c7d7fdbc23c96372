import { type ConnectOptions } from '@switchboard/core';
import type { NetworkWatcher, TransportFactory } from './transport.js';
/** Options of our RFC 6455 client that the Node transport lets an application set. */
export type NodeTransportOptions = Pick<ConnectOptions, 'handshakeTimeout' | 'maxMessageSize' | 'perMessageDeflate' | 'tls' | 'closeTimeout'>;
/**
 * A transport over `@switchboard/core`'s client. The token travels as `Authorization: Bearer` (protocol.md
 * §2.2, checked first by the server), and a refused handshake's HTTP status is reported so the client can
 * tell "bad token" (401) from "broker down".
 */
export declare function createNodeTransport(connectOptions?: NodeTransportOptions): TransportFactory;
/** The platform transport: our RFC 6455 client. */
export declare const createTransport: TransportFactory;
/** Node has no `online` event; reconnecting follows the backoff alone. */
export declare const watchNetwork: NetworkWatcher;
