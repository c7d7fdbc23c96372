// The baseline broker of the fan-out and memory benchmarks: a minimal pub/sub broker written directly on
// `ws`, doing the least a broker can (exact topics, JSON, encode once per publish).
//   node --import=tsx bench/servers/ws-broker.ts PORT
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';

/** Serves the minimal broker's protocol on `wss`. */
export function serveWsBroker(wss: WebSocketServer): void {
  const topics = new Map<string, Set<WebSocket>>();
  wss.on('connection', (socket) => {
    const mine = new Set<string>();
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { op: string; topic: string; data?: unknown };
      if (message.op === 'subscribe') {
        let subscribers = topics.get(message.topic);
        if (subscribers === undefined) topics.set(message.topic, (subscribers = new Set()));
        subscribers.add(socket);
        mine.add(message.topic);
        socket.send('{"op":"subscribed"}');
      } else if (message.op === 'publish') {
        const subscribers = topics.get(message.topic);
        if (subscribers === undefined) return;
        const out = Buffer.from(JSON.stringify({ op: 'message', topic: message.topic, data: message.data }));
        for (const subscriber of subscribers) subscriber.send(out, { binary: false });
      }
    });
    socket.on('close', () => {
      for (const topic of mine) topics.get(topic)?.delete(socket);
    });
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2]);
  const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
  serveWsBroker(wss);
  wss.on('listening', () => process.stdout.write(`listening ${port}\n`));
}
