// The baseline broker of the fan-out and memory benchmarks: a minimal pub/sub broker written directly on
// `ws`, doing the least a broker can (exact topics, JSON, encode once per publish). With a Redis URL it is
// the naive way to scale that out: every publish goes to Redis PUBLISH on the topic's channel, and each node
// SUBSCRIBEs (`ioredis`) to the topics its clients want and delivers what Redis sends it, nothing more (no
// history, no ordering across nodes, no recovery).
//   node --import=tsx bench/servers/ws-broker.ts PORT [REDIS_URL]
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';

/** Serves the minimal broker's protocol on `wss`, through Redis pub/sub when `redisUrl` is given. */
export function serveWsBroker(wss: WebSocketServer, redisUrl?: string): void {
  const topics = new Map<string, Set<WebSocket>>();
  /** Each topic's Redis SUBSCRIBE, which every subscriber's acknowledgement waits for. */
  const inRedis = new Map<string, Promise<unknown>>();
  const deliver = (topic: string, out: Buffer): void => {
    const subscribers = topics.get(topic);
    if (subscribers === undefined) return;
    for (const subscriber of subscribers) subscriber.send(out, { binary: false });
  };
  const publishing = redisUrl === undefined ? undefined : new Redis(redisUrl);
  const receiving = publishing?.duplicate();
  receiving?.on('messageBuffer', (channel: Buffer, message: Buffer) => deliver(channel.toString(), message));
  wss.on('connection', (socket) => {
    const mine = new Set<string>();
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { op: string; topic: string; data?: unknown };
      if (message.op === 'subscribe') {
        let subscribers = topics.get(message.topic);
        if (subscribers === undefined) topics.set(message.topic, (subscribers = new Set()));
        subscribers.add(socket);
        mine.add(message.topic);
        const acknowledge = (): void => socket.send('{"op":"subscribed"}');
        if (receiving === undefined) return acknowledge();
        let subscribed = inRedis.get(message.topic);
        if (subscribed === undefined) inRedis.set(message.topic, (subscribed = receiving.subscribe(message.topic)));
        void subscribed.then(acknowledge);
      } else if (message.op === 'publish') {
        const out = Buffer.from(JSON.stringify({ op: 'message', topic: message.topic, data: message.data }));
        if (publishing !== undefined) void publishing.publish(message.topic, out);
        else deliver(message.topic, out);
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
  serveWsBroker(wss, process.argv[3]);
  wss.on('listening', () => process.stdout.write(`listening ${port}\n`));
}
