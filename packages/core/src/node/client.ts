import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { CloseCode } from '../constants.js';
import { ErrorCode, WebSocketError, handshakeRejected } from '../errors.js';
import { PerMessageDeflate } from '../extensions/permessage-deflate-codec.js';
import type { PerMessageDeflateOptions } from '../extensions/permessage-deflate.js';
import { createClientHandshake, validateServerResponse } from '../handshake.js';
import { Protocol } from '../protocol.js';
import { nodePlatform } from './node-platform.js';
import { WebSocket } from './websocket.js';
import type { WebSocketOptions } from './websocket-options.js';

/** What `connect` offers in its handshake, how long it waits, and how the connection behaves once open. */
export interface ConnectOptions extends WebSocketOptions {
  /** Subprotocols to offer, in our order of preference (RFC 6455 §4.1). */
  protocols?: string | readonly string[];
  /** Extra request headers, e.g. Origin or Authorization. */
  headers?: Record<string, string>;
  /** Offer permessage-deflate with these parameters. @default false */
  perMessageDeflate?: PerMessageDeflateOptions | false;
  /**
   * Largest message accepted, after decompression; larger ones close the connection with 1009.
   * @default 67108864 (64 MiB)
   */
  maxMessageSize?: number;
  /**
   * How long the TCP connect and the opening handshake may take before the attempt fails, so an
   * unresponsive server cannot leave a client waiting forever.
   * @default 10000
   */
  handshakeTimeout?: number;
  /**
   * TLS settings for wss://, as `tls.connect` takes them: `ca` to trust a private CA or a self-signed
   * server, `cert` and `key` to present a client certificate, `servername` when the certificate names
   * another host than the URL's, `rejectUnauthorized: false` to accept any certificate (tests only).
   * @default Node's: its bundled CA list, the URL's host checked against the certificate, SNI unless the
   * host is an IP address (RFC 6066 §3)
   */
  tls?: ConnectionOptions;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/**
 * Opens a client connection to a ws:// or wss:// URL. Like the browser's constructor it returns at once,
 * in the CONNECTING state; `open` or `error` and `close` follow.
 */
export function connect(url: string | URL, options: ConnectOptions = {}): WebSocket {
  const target = new URL(url);
  const websocket = new WebSocket(target.href, options);
  const secure = target.protocol === 'wss:' || target.protocol === 'https:';
  if (!secure && target.protocol !== 'ws:' && target.protocol !== 'http:') {
    queueMicrotask(() =>
      websocket.abort(new WebSocketError(ErrorCode.invalidArgument, `unsupported URL scheme ${target.protocol}`)),
    );
    return websocket;
  }

  const protocols = options.protocols === undefined ? [] : typeof options.protocols === 'string' ? [options.protocols] : options.protocols;
  const handshake = createClientHandshake(
    {
      protocols,
      perMessageDeflate: options.perMessageDeflate ?? false,
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    },
    nodePlatform,
  );
  const requestOptions = {
    method: 'GET',
    host: target.hostname.replace(/^\[|\]$/g, ''),
    port: target.port === '' ? (secure ? 443 : 80) : Number(target.port),
    path: `${target.pathname}${target.search}`,
    headers: { Host: target.host, ...handshake.headers },
    timeout: options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
    // No servername of our own: Node's agent derives it from the Host header, without the brackets of an
    // IPv6 literal and leaving SNI out for an IP address, which RFC 6066 §3 forbids (DEP0123).
    ...(secure ? options.tls : {}),
  };
  const request: ClientRequest = secure ? httpsRequest(requestOptions) : httpRequest(requestOptions);

  const fail = (error: WebSocketError): void => {
    request.destroy();
    websocket.abort(error);
  };
  request.on('timeout', () => fail(new WebSocketError(ErrorCode.handshakeTimeout, 'opening handshake timed out', CloseCode.abnormal)));
  request.on('error', (error) => fail(new WebSocketError(ErrorCode.connectionReset, error.message, CloseCode.abnormal)));
  request.on('response', (response: IncomingMessage) => {
    response.resume();
    fail(handshakeRejected(response.statusCode ?? 0));
  });
  request.on('upgrade', (response: IncomingMessage, socket: Duplex, head: Buffer) => {
    request.setTimeout(0);
    const result = validateServerResponse({ statusCode: response.statusCode ?? 0, headers: response.headers }, handshake, nodePlatform);
    if (!result.ok) {
      socket.destroy();
      websocket.abort(result.error);
      return;
    }
    const compressor =
      result.deflate === undefined
        ? undefined
        : new PerMessageDeflate(
            'client',
            result.deflate,
            { ...(options.perMessageDeflate || {}), maxInflatedSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE },
            nodePlatform,
          );
    const protocol = new Protocol({
      role: 'client',
      platform: nodePlatform,
      ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
      compressor,
    });
    websocket.once('close', () => compressor?.close());
    websocket.attach(socket, protocol, head, { protocol: result.protocol, extensions: result.extensions, deflate: result.deflate });
  });
  // A close() or terminate() while still connecting abandons the request.
  websocket.once('close', () => request.destroy());
  request.end();
  return websocket;
}
