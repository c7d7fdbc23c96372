// An echo server in its own process for the core benchmark's CPU figures, chosen by argv: `ours` (our
// engine's `handleUpgrade`) or `ws` (`ws` with whatever `bufferutil` it finds; the parent sets
// WS_NO_BUFFER_UTIL for the run without it). It reports its port over IPC and answers "cpu" with the CPU
// time it has used so far, in microseconds, so the clients in the parent are not counted; "exit" ends it
// (normally, so that a --cpu-prof run writes its profile).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { handleUpgrade } from '@switchboard/core';

const kind = process.argv[2];
const server = createServer();

if (kind === 'ours') {
  server.on('upgrade', (request, socket, head) => {
    const websocket = handleUpgrade(request, socket, head);
    websocket?.on('message', (data) => websocket.send(data as Buffer));
  });
} else {
  const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
  wss.on('connection', (websocket) => websocket.on('message', (data, isBinary) => websocket.send(data, { binary: isBinary })));
}

server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));

process.on('message', (message: string) => {
  if (message === 'exit') process.exit(0);
  if (message !== 'cpu') return;
  const usage = process.cpuUsage();
  process.send!({ cpuMicros: usage.user + usage.system });
});
