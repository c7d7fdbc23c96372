import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PerMessageDeflate } from '../extensions/permessage-deflate-codec.js';
import { acceptHandshake, rejectionResponse, type ServerHandshakeOptions } from '../handshake.js';
import { Protocol } from '../protocol.js';
import { nodePlatform } from './node-platform.js';
import { WebSocket, type WebSocketOptions } from './websocket.js';

export interface UpgradeOptions extends ServerHandshakeOptions, WebSocketOptions {
  /**
   * Largest message accepted, after decompression; larger ones close the connection with 1009.
   * @default 67108864 (64 MiB)
   */
  maxMessageSize?: number;
}

/**
 * Completes the RFC 6455 §4.2 server handshake on a socket from a Node HTTP server's `upgrade` event
 * (fastify's included) and returns the open WebSocket, or undefined after answering a bad request with
 * its HTTP status, so a rejected handshake never leaves a hung socket.
 */
export function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, options: UpgradeOptions = {}): WebSocket | undefined {
  const handshake = acceptHandshake(
    { method: request.method ?? '', httpVersion: request.httpVersion, headers: request.headers },
    options,
    nodePlatform,
  );
  if (!handshake.accepted) {
    endWithResponse(socket, handshake.response);
    return undefined;
  }
  const compressor =
    handshake.deflate === undefined || options.perMessageDeflate === undefined || options.perMessageDeflate === false
      ? undefined
      : new PerMessageDeflate(
          'server',
          handshake.deflate,
          { ...options.perMessageDeflate, maxInflatedSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE },
          nodePlatform,
        );
  const protocol = new Protocol({
    role: 'server',
    platform: nodePlatform,
    ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
    compressor,
  });
  socket.write(handshake.response);
  const websocket = new WebSocket(requestUrl(request), options);
  websocket.attach(socket, protocol, head, { protocol: handshake.protocol, extensions: handshake.extensions });
  websocket.once('close', () => compressor?.close());
  return websocket;
}

/**
 * Answers an upgrade request with an HTTP error and closes the socket: for checks the caller makes
 * before `handleUpgrade`, such as authentication (401) or a connection limit (503).
 */
export function rejectUpgrade(socket: Duplex, status: number, reason: string, headers?: Record<string, string>): void {
  endWithResponse(socket, rejectionResponse(status, reason, headers));
}
const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

function endWithResponse(socket: Duplex, response: string): void {
  if (socket.writable) socket.end(response);
  // A peer that never reads its answer must not keep the socket: destroy it shortly after.
  setTimeout(() => socket.destroy(), 1000).unref();
}

function requestUrl(request: IncomingMessage): string {
  const host = request.headers.host ?? 'localhost';
  return `ws://${host}${request.url ?? '/'}`;
}
