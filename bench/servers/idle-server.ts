// A server in its own process for the memory benchmark, chosen by argv: `ours` / `ws` (bare WebSocket
// servers), or `broker` / `ws-broker` (our broker, and the minimal broker on `ws`). It reports its port over
// IPC and answers "measure" with its connection count, memory after a full GC and open-file limit, "cpu"
// with the CPU time it has used (µs), and "snapshot PATH" by writing a heap snapshot there.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeHeapSnapshot } from 'node:v8';
import { WebSocketServer } from 'ws';
import { handleUpgrade, type WebSocket } from '@switchboard/core';
import { buildApp, createConfig } from '@switchboard/broker';
import { serveWsBroker } from './ws-broker.js';

const kind = process.argv[2];
let connections: () => number;

if (kind === 'broker') {
  const app = await buildApp(createConfig({ logLevel: 'silent', publishRatePerSecond: 0, maxConnections: 1_000_000 }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  connections = () => app.broker.connectionCount;
  process.send!({ port: (app.server.address() as AddressInfo).port });
} else {
  const server = createServer();
  if (kind === 'ours') {
    const held: WebSocket[] = [];
    server.on('upgrade', (request, socket, head) => {
      const websocket = handleUpgrade(request, socket, head);
      if (websocket !== undefined) held.push(websocket);
    });
    connections = () => held.length;
  } else {
    const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: true });
    if (kind === 'ws-broker') serveWsBroker(wss);
    connections = () => wss.clients.size;
  }
  server.listen(0, '127.0.0.1', () => {
    process.send!({ port: (server.address() as AddressInfo).port });
  });
}

const inspector = new Session();

process.on('message', (message: string) => {
  // The accepts alone, profiled: SCALE_PROFILE=dir (memory-scale.ts).
  if (message === 'profile start') {
    inspector.connect();
    inspector.post('Profiler.enable', () => inspector.post('Profiler.start', () => process.send!({ started: true })));
    return;
  }
  if (message.startsWith('profile stop ')) {
    inspector.post('Profiler.stop', (error, result) => {
      if (error === null) writeFileSync(message.slice('profile stop '.length), JSON.stringify(result.profile));
      inspector.disconnect();
      process.send!({ written: error === null });
    });
    return;
  }
  if (message.startsWith('snapshot ')) {
    process.send!({ written: writeHeapSnapshot(message.slice('snapshot '.length)) });
    return;
  }
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send!({ cpuMicros: user + system });
    return;
  }
  if (message !== 'measure') return;
  globalThis.gc!();
  globalThis.gc!();
  const usage = process.memoryUsage();
  process.send!({ connections: connections(), heapUsed: usage.heapUsed, external: usage.external, rss: usage.rss, maxOpenFiles: maxOpenFiles() });
});

/** This process's soft limit on open files (Node has no getrlimit; Linux shows it in /proc). */
function maxOpenFiles(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((row) => row.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3] ?? Number.NaN);
}

// An orderly exit on the bench's kill, so that `--cpu-prof` (SCALE_SERVER_FLAGS) writes its profile.
process.on('SIGTERM', () => process.exit(0));
