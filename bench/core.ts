// Core engine against the `ws` package, in the same process and run: frame parse and serialize
// throughput, and echo round trips over loopback with 64 B and 16 KiB messages; then (echo-cpu.ts) echo of
// 16 KiB and 1 MiB messages per server CPU-second, each server in its own process, against `ws` with and
// without `bufferutil`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket as WsWebSocket, WebSocketServer } from 'ws';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FrameParser, Opcode, connect, encodeFrame, handleUpgrade, type WebSocket } from '@switchboard/core';
import { benchEchoCpu } from './echo-cpu.js';
import { compare, comparisonLine, type BenchResult } from './harness.js';

const ROUNDS = 5;

// ws's receiver and sender are internals outside its exports map; load them by path as baselines.
const require = createRequire(import.meta.url);
const wsLib = join(dirname(require.resolve('ws')), 'lib');
const Receiver = require(join(wsLib, 'receiver.js')) as WsReceiverClass;
const Sender = require(join(wsLib, 'sender.js')) as WsSenderClass;

export async function benchCore(): Promise<BenchResult> {
  const lines: string[] = [];
  for (const size of [64, 16 * 1024]) {
    lines.push(comparisonLine(`parse masked ${label(size)} frames`, await compare(ROUNDS, () => parseOurs(size), () => parseWs(size)), 'frames', 'ws'));
  }
  for (const size of [64, 16 * 1024]) {
    lines.push(comparisonLine(`serialize ${label(size)} frames (server)`, await compare(ROUNDS, () => serializeOurs(size), () => serializeWs(size)), 'frames', 'ws'));
  }
  const ours = await startOurEcho();
  const theirs = await startWsEcho();
  try {
    for (const size of [64, 16 * 1024]) {
      const result = await compare(ROUNDS, () => echoOurs(ours.port, size), () => echoWs(theirs.port, size));
      lines.push(comparisonLine(`echo round trips ${label(size)}`, result, 'rt', 'ws'));
    }
  } finally {
    await ours.close();
    await theirs.close();
  }
  lines.push(...(await benchEchoCpu()));
  return { name: 'core engine vs ws (higher ratio is better for us)', lines };
}

function label(size: number): string {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

// ---- parse --------------------------------------------------------------------------------------

const PARSE_BYTES = 32 * 1024 * 1024;

/** A stream of masked client frames cut into 64 KiB chunks, the size a socket typically delivers. */
function maskedStream(size: number): { chunks: Buffer[]; frames: number } {
  const payload = Buffer.alloc(size, 0x61);
  const mask = Buffer.from([1, 2, 3, 4]);
  const frame = Buffer.concat(encodeFrame({ fin: true, opcode: Opcode.binary, payload, mask }));
  const frames = Math.max(1, Math.floor(PARSE_BYTES / frame.length));
  const stream = Buffer.concat(Array.from({ length: frames }, () => frame));
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < stream.length; offset += 65536) chunks.push(stream.subarray(offset, offset + 65536));
  return { chunks, frames };
}

const streams = new Map<number, { chunks: Buffer[]; frames: number }>();
function freshStream(size: number): { chunks: Buffer[]; frames: number } {
  // Parsing unmasks in place, so every run gets its own copy of the bytes.
  let stream = streams.get(size);
  if (stream === undefined) streams.set(size, (stream = maskedStream(size)));
  return { chunks: stream.chunks.map((chunk) => Buffer.from(chunk)), frames: stream.frames };
}

function parseOurs(size: number): number {
  const { chunks, frames } = freshStream(size);
  const parser = new FrameParser({ role: 'server', allowRsv1: false, maxPayloadLength: 1 << 30 });
  let parsed = 0;
  for (const chunk of chunks) {
    parser.push(chunk);
    while (parser.read() !== undefined) parsed++;
  }
  if (parsed !== frames) throw new Error(`parsed ${parsed} of ${frames}`);
  return parsed;
}

function parseWs(size: number): number {
  const { chunks, frames } = freshStream(size);
  const receiver = new Receiver({ isServer: true, maxPayload: 1 << 30 });
  let parsed = 0;
  receiver.on('message', () => parsed++);
  for (const chunk of chunks) receiver.write(chunk);
  if (parsed !== frames) throw new Error(`ws parsed ${parsed} of ${frames}`);
  return parsed;
}

// ---- serialize ----------------------------------------------------------------------------------

const SERIALIZE_FRAMES = 200_000;

function serializeOurs(size: number): number {
  const payload = Buffer.alloc(size, 0x62);
  let bytes = 0;
  for (let i = 0; i < SERIALIZE_FRAMES; i++) {
    for (const part of encodeFrame({ fin: true, opcode: Opcode.binary, payload })) bytes += part.length;
  }
  if (bytes === 0) throw new Error('nothing serialized');
  return SERIALIZE_FRAMES;
}

function serializeWs(size: number): number {
  const payload = Buffer.alloc(size, 0x62);
  let bytes = 0;
  for (let i = 0; i < SERIALIZE_FRAMES; i++) {
    for (const part of Sender.frame(payload, { fin: true, opcode: 2, mask: false, readOnly: true, rsv1: false })) bytes += part.length;
  }
  if (bytes === 0) throw new Error('nothing serialized');
  return SERIALIZE_FRAMES;
}

// ---- echo over loopback -------------------------------------------------------------------------

const ECHO_CLIENTS = 8;
const ECHO_ROUND_TRIPS = 4_000;

interface Running {
  port: number;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function startOurEcho(): Promise<Running> {
  const server = createServer();
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (request, socket, head) => {
    const websocket = handleUpgrade(request, socket, head);
    if (websocket === undefined) return;
    sockets.add(websocket);
    websocket.on('message', (data) => websocket.send(data as Buffer));
    websocket.on('close', () => sockets.delete(websocket));
  });
  const port = await listen(server);
  return { port, close: () => new Promise((resolve) => { for (const s of sockets) s.terminate(); server.close(() => resolve()); }) };
}

async function startWsEcho(): Promise<Running> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (websocket) => websocket.on('message', (data, isBinary) => websocket.send(data, { binary: isBinary })));
  const port = await listen(server);
  return { port, close: () => new Promise((resolve) => { for (const s of wss.clients) s.terminate(); wss.close(); server.close(() => resolve()); }) };
}

/** `ECHO_CLIENTS` connections each doing sequential round trips: send, await the echo, repeat. */
async function echoOurs(port: number, size: number): Promise<number> {
  const payload = Buffer.alloc(size, 0x63);
  const perClient = ECHO_ROUND_TRIPS / ECHO_CLIENTS;
  await Promise.all(
    Array.from({ length: ECHO_CLIENTS }, () =>
      new Promise<void>((resolve, reject) => {
        const websocket = connect(`ws://127.0.0.1:${port}/`);
        let remaining = perClient;
        websocket.on('open', () => websocket.send(payload));
        websocket.on('message', () => {
          if (--remaining === 0) websocket.close(1000);
          else websocket.send(payload);
        });
        websocket.on('close', () => (remaining === 0 ? resolve() : reject(new Error('echo connection closed early'))));
      }),
    ),
  );
  return ECHO_ROUND_TRIPS;
}

async function echoWs(port: number, size: number): Promise<number> {
  const payload = Buffer.alloc(size, 0x63);
  const perClient = ECHO_ROUND_TRIPS / ECHO_CLIENTS;
  await Promise.all(
    Array.from({ length: ECHO_CLIENTS }, () =>
      new Promise<void>((resolve, reject) => {
        const websocket = new WsWebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
        let remaining = perClient;
        websocket.on('open', () => websocket.send(payload));
        websocket.on('message', () => {
          if (--remaining === 0) websocket.close(1000);
          else websocket.send(payload);
        });
        websocket.on('close', () => (remaining === 0 ? resolve() : reject(new Error('ws echo connection closed early'))));
      }),
    ),
  );
  return ECHO_ROUND_TRIPS;
}
