// An echo server in its own process for the core benchmark's CPU figures, chosen by argv: `ours` (our
// engine's `handleUpgrade`), `ws` (`ws` with whatever `bufferutil` it finds; the parent sets
// WS_NO_BUFFER_UTIL for the run without it) or `floor` (no WebSocket
// engine: one read and one write of a ready-made reply per message, what the loopback socket costs by itself). It reports its port over IPC and answers "cpu" with the CPU
// time it has used so far, in microseconds, so the clients in the parent are not counted; "exit" ends it
// (normally, so that a --cpu-prof run writes its profile).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { handleUpgrade } from '@switchboard/core';

const kind = process.argv[2];
const server = createServer();

if (kind === 'ours') {
  server.on('upgrade', (request, socket, head) => {
    const websocket = handleUpgrade(request, socket, head);
    websocket?.on('message', (data) => websocket.send(data as Buffer));
  });
} else if (kind === 'floor') {
  server.on('upgrade', (_request, socket: Duplex, head: Buffer) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    answerFrames(socket, head);
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

/**
 * The floor: each whole client frame is answered by a ready-made server frame of the same length, without
 * unmasking or copying its payload, so what is left is the reads and writes any WebSocket server pays.
 */
function answerFrames(socket: Duplex, head: Buffer): void {
  const replies = new Map<number, Buffer>();
  const replyOf = (payloadBytes: number): Buffer => {
    let reply = replies.get(payloadBytes);
    if (reply === undefined) {
      const lengthBytes = payloadBytes < 126 ? 0 : payloadBytes < 0x10000 ? 2 : 8;
      reply = Buffer.alloc(2 + lengthBytes + payloadBytes);
      reply[0] = 0x82;
      reply[1] = lengthBytes === 0 ? payloadBytes : lengthBytes === 2 ? 126 : 127;
      if (lengthBytes === 2) reply.writeUInt16BE(payloadBytes, 2);
      if (lengthBytes === 8) reply.writeBigUInt64BE(BigInt(payloadBytes), 2);
      replies.set(payloadBytes, reply);
    }
    return reply;
  };
  let pending: Buffer | undefined; // a header split across reads
  let payloadLeft = 0;
  let current: Buffer | undefined;
  const onData = (data: Buffer): void => {
    const chunk = pending === undefined ? data : Buffer.concat([pending, data]);
    pending = undefined;
    let at = 0;
    while (at < chunk.length) {
      if (payloadLeft > 0) {
        const taken = Math.min(payloadLeft, chunk.length - at);
        payloadLeft -= taken;
        at += taken;
        if (payloadLeft === 0) socket.write(current!);
        continue;
      }
      const code = chunk.length - at >= 2 ? (chunk[at + 1]! & 0x7f) : -1;
      const headerBytes = code === -1 ? Infinity : 2 + (code === 126 ? 2 : code === 127 ? 8 : 0) + 4;
      if (chunk.length - at < headerBytes) {
        pending = chunk.subarray(at);
        return;
      }
      const payloadBytes = code === 126 ? chunk.readUInt16BE(at + 2) : code === 127 ? Number(chunk.readBigUInt64BE(at + 2)) : code;
      current = replyOf(payloadBytes);
      at += headerBytes;
      payloadLeft = payloadBytes;
      if (payloadLeft === 0) socket.write(current);
    }
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  if (head.length > 0) onData(head);
}
