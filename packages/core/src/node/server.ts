import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PerMessageDeflate } from '../extensions/permessage-deflate-codec.js';
import { acceptHandshake, rejectionResponse, type ServerHandshake, type ServerHandshakeOptions } from '../handshake.js';
import { Protocol } from '../protocol.js';
import { nodePlatform } from './node-platform.js';
import { WebSocket } from './websocket.js';
import type { WebSocketOptions } from './websocket-options.js';

/** What a server accepts (subprotocols, origins, compression) and how its connections behave. */
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
 * its HTTP status, so a rejected handshake never leaves a hung socket. `checkUpgrade` then
 * `completeUpgrade`, for a server with nothing to do in between.
 */
export function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, options: UpgradeOptions = {}): WebSocket | undefined {
  return completeUpgrade(request, socket, head, checkUpgrade(request, options), options);
}

/**
 * The first half of `handleUpgrade`: checks the request (RFC 6455 §4.2.1, including `verifyOrigin`),
 * selects the subprotocol and negotiates permessage-deflate, and writes nothing. A server with checks of
 * its own (a path, a connection limit, authentication) runs them between this and `completeUpgrade`,
 * knowing already whether core will refuse the request (`accepted: false`, with its status) and what it
 * agreed to (`protocol`, `deflate`).
 */
export function checkUpgrade(request: IncomingMessage, options: UpgradeOptions = {}): ServerHandshake {
  return acceptHandshake({ method: request.method ?? '', httpVersion: request.httpVersion, headers: request.headers }, options, nodePlatform);
}

/**
 * The second half of `handleUpgrade`: answers with what `checkUpgrade` decided. A refusal is written as
 * its HTTP error and the socket ends (undefined is returned); an acceptance writes the 101 and returns the
 * open WebSocket. Pass the `options` given to `checkUpgrade`: the deflate codec and the limits come from
 * them.
 */
export function completeUpgrade(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  handshake: ServerHandshake,
  options: UpgradeOptions = {},
): WebSocket | undefined {
  if (!handshake.accepted) {
    endWithResponse(socket, handshake.response);
    return undefined;
  }
  // The 101 below promises what the handshake agreed, so the codec follows `handshake.deflate` alone.
  const compressor =
    handshake.deflate === undefined
      ? undefined
      : new PerMessageDeflate(
          'server',
          handshake.deflate,
          { ...(options.perMessageDeflate || {}), maxInflatedSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE },
          nodePlatform,
        );
  const protocol = new Protocol({
    role: 'server',
    platform: nodePlatform,
    ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
    compressor,
  });
  const websocket = new WebSocket(requestUrl(request), options);
  const agreement = { protocol: handshake.protocol, extensions: handshake.extensions, deflate: handshake.deflate };
  websocket.attach(socket, protocol, head, agreement, handshake.response);
  if (compressor !== undefined) websocket.once('close', () => compressor.close());
  return websocket;
}

/**
 * Answers an upgrade request with an HTTP error and closes the socket: for checks the caller makes
 * before `completeUpgrade`, such as authentication (401) or a connection limit (503 with Retry-After).
 * `body` is text/plain unless `headers` sets Content-Type (see `rejectionResponse`).
 */
export function rejectUpgrade(socket: Duplex, status: number, body: string, headers?: Readonly<Record<string, string>>): void {
  endWithResponse(socket, rejectionResponse(status, body, headers));
}

const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

function endWithResponse(socket: Duplex, response: string): void {
  if (socket.writable) socket.end(response);
  // A peer that never reads its answer must not keep the socket: destroy it shortly after.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * Recent URLs, so connections to the same one share a string: most of a server's connections ask for the
 * same few, and a flat copy each was ~40 bytes of every idle connection. Cleared when full, so a client
 * sending a new URL each time cannot grow it.
 */
const recentUrls = new Map<string, string>();
const MAX_RECENT_URLS = 256;

function requestUrl(request: IncomingMessage): string {
  const host = request.headers.host ?? 'localhost';
  const url = `ws://${host}${request.url ?? '/'}`;
  let shared = recentUrls.get(url);
  if (shared === undefined) {
    if (recentUrls.size >= MAX_RECENT_URLS) recentUrls.clear();
    // One flat string: the concatenation would keep its parts (and the host string with them).
    shared = Buffer.from(url, 'utf8').toString('utf8');
    recentUrls.set(shared, shared);
  }
  return shared;
}
