import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, handleUpgrade, rejectUpgrade } from '@switchboard/core';
import {
  type ClientMessage,
  type ServerLimits,
  type ServerMessage,
  SUBPROTOCOL,
  decodeClientMessage,
  encodeMessage,
} from '@switchboard/protocol';
import { within } from './wait.js';

/**
 * A broker stand-in that a test scripts message by message, for what a real broker does only under rare
 * conditions (gaps, cancelled deliveries, a silent peer, every close code). It speaks through our core
 * server and the protocol codec, so every byte on the wire is real pubsub.v1.
 */
export interface ScriptedConnection {
  readonly socket: WebSocket;
  readonly headers: IncomingHttpHeaders;
  /** Every message the client sent, decoded. */
  readonly received: ClientMessage[];
  /** Resolves with the next (not yet taken) message the client sends whose op is `op`. */
  next<Op extends ClientMessage['op']>(op: Op, timeoutMs?: number): Promise<Extract<ClientMessage, { op: Op }>>;
  send(message: ServerMessage): void;
  welcome(overrides?: Partial<Omit<Extract<ServerMessage, { op: 'welcome' }>, 'op'>>): void;
  close(code: number, reason?: string): void;
  /** Answers every `ping`, past and future, with `pong`. */
  autoPong(): void;
  /** Drops the TCP connection without a close frame. */
  terminate(): void;
  readonly closed: Promise<{ code: number; reason: string }>;
}

export interface ScriptedBroker {
  readonly url: string;
  readonly connections: ScriptedConnection[];
  /** Resolves with the `index`-th connection (0-based) once it exists. */
  connection(index: number, timeoutMs?: number): Promise<ScriptedConnection>;
  /** Answers the next handshakes with this HTTP status instead of upgrading (undefined: upgrade). */
  rejectWith(status: number | undefined): void;
  close(): Promise<void>;
}

/** Limits like the spec's example, with 64-byte chunks so tests chunk small payloads. */
export const scriptedLimits: ServerLimits = {
  maxMessageBytes: 1024,
  chunkBytes: 64,
  maxFrameBytes: 64 + 4 + 4096,
  maxSubscriptions: 100,
  maxConcurrentTransfers: 4,
  maxIncompleteBytes: 2048,
  chunkTimeoutMs: 30_000,
  idempotencyWindowMs: 120_000,
  tokenGraceMs: 10_000,
};

export async function startScriptedBroker(): Promise<ScriptedBroker> {
  const connections: ScriptedConnection[] = [];
  const waiting: Array<() => void> = [];
  let rejectStatus: number | undefined;
  let counter = 0;
  const server: Server = createServer((_request, response) => response.writeHead(426).end());
  server.on('upgrade', (request, socket, head: Buffer) => {
    if (rejectStatus !== undefined) {
      rejectUpgrade(socket, rejectStatus, 'scripted rejection');
      return;
    }
    const websocket = handleUpgrade(request, socket, head, { protocols: [SUBPROTOCOL] });
    if (websocket === undefined) return;
    connections.push(scriptedConnection(websocket, request.headers, `c_${++counter}`));
    for (const wake of waiting.splice(0)) wake();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    connections,
    connection: async (index, timeoutMs = 10_000) => {
      await within(
        (async () => {
          while (connections[index] === undefined) await new Promise<void>((resolve) => waiting.push(resolve));
        })(),
        `connection ${index}`,
        timeoutMs,
      );
      return connections[index]!;
    },
    rejectWith: (status) => {
      rejectStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of connections) connection.terminate();
        server.close(() => resolve());
      }),
  };
}

function scriptedConnection(socket: WebSocket, headers: IncomingHttpHeaders, connectionId: string): ScriptedConnection {
  const received: ClientMessage[] = [];
  let taken = new Set<number>();
  const wakers: Array<() => void> = [];
  let ponging = false;
  const pong = (message: ClientMessage): void => {
    if (ponging && message.op === 'ping') connection.send({ op: 'pong', id: message.id });
  };
  socket.on('message', (data) => {
    const decoded = decodeClientMessage(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
    if (!decoded.ok) throw new Error(`the client sent an invalid message: ${decoded.error.code}: ${decoded.error.message}`);
    received.push(decoded.message);
    pong(decoded.message);
    for (const wake of wakers.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason })));
  const connection: ScriptedConnection = {
    socket,
    headers,
    received,
    async next(op, timeoutMs = 10_000) {
      return within(
        (async () => {
          for (;;) {
            const index = received.findIndex((message, position) => message.op === op && !taken.has(position));
            if (index >= 0) {
              taken = new Set(taken).add(index);
              return received[index] as never;
            }
            await new Promise<void>((resolve) => wakers.push(resolve));
          }
        })(),
        `the client to send ${op}`,
        timeoutMs,
      );
    },
    send(message) {
      if (socket.readyState === 1) socket.send(encodeMessage(message));
    },
    welcome(overrides = {}) {
      connection.send({ op: 'welcome', protocol: SUBPROTOCOL, connectionId, limits: scriptedLimits, ...overrides });
    },
    close(code, reason = '') {
      socket.close(code, reason);
    },
    autoPong() {
      ponging = true;
      for (const message of received) pong(message);
    },
    terminate() {
      socket.terminate();
    },
    closed,
  };
  return connection;
}
