// A WebSocket server in its own process for the memory benchmark: `ours` or `ws`, chosen by argv.
// It reports its port over IPC and answers "measure" with its memory after a full GC.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { handleUpgrade, type WebSocket } from '@switchboard/core';

const kind = process.argv[2];
const server = createServer();
const held: unknown[] = [];
if (kind === 'ours') {
  server.on('upgrade', (request, socket, head) => {
    const websocket: WebSocket | undefined = handleUpgrade(request, socket, head);
    if (websocket !== undefined) held.push(websocket);
  });
} else {
  const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: true });
  wss.on('connection', (websocket) => held.push(websocket));
}

server.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as AddressInfo).port });
});

process.on('message', (message: string) => {
  if (message !== 'measure') return;
  globalThis.gc!();
  globalThis.gc!();
  const usage = process.memoryUsage();
  process.send!({ connections: held.length, heapUsed: usage.heapUsed, external: usage.external, rss: usage.rss });
});
