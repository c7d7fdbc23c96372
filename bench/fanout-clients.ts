// One process of the multi-process fan-out load (`fanout-peers.ts`): subscribers and at most one publisher
// on raw sockets (`raw-websocket.ts`), speaking any target's wire format. Several such processes share the
// load so that the servers, not the load, run out of CPU first. Driven over IPC by the parent, each request
// `{ id, cmd, ... }` answered by `{ id, result }`:
//   open    { target, subscribers, offset, publisher } -> every subscription acknowledged; { subscribed }
//   one     -> the publisher sends one message (warm-up)
//   reached -> how many subscribers have received anything yet
//   run     { rate, startAt, endAt } -> counts deliveries of messages sent from startAt on; the publisher
//              sends `rate` per second until endAt and answers { sent, skipped }
//   count   -> deliveries counted since the run started
//   stats   -> { total, inWindow, frames, reads, histogram, cpuSeconds, closed }
//   close   -> exits
// Times are wall-clock milliseconds (`performance.timeOrigin + performance.now()`), comparable across the
// processes of one machine; every message carries its send time, so latency is receipt minus that.
import { openRawWebSocket, clientFrame, type RawWebSocket } from './raw-websocket.js';
import { targetFor, type TargetSpec } from './targets.js';
import type { Target } from './fanout-load.js';
import { Histogram } from './latency-histogram.js';

export interface OpenRequest {
  target: TargetSpec;
  subscribers: number;
  /** This process's first subscriber's index among all processes', for the round-robin over nodes. */
  offset: number;
  publisher: boolean;
}

export interface RunRequest {
  rate: number;
  startAt: number;
  endAt: number;
}

export interface ClientStats {
  /** Deliveries of messages sent since the run started. */
  total: number;
  /** Of those, received by the run's end. */
  inWindow: number;
  /** WebSocket frames, and TCP reads, that carried those deliveries. */
  frames: number;
  reads: number;
  histogram: [number, number][];
  cpuSeconds: number;
  closed: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const T = Buffer.from('"t":');
const PING = Buffer.from('PING\r\n');
/** A publisher that has this much unsent does not add more: the server is not reading, which is saturation. */
const MAX_UNSENT_BYTES = 1 << 20;
const OPEN_WINDOW = 50;

interface Subscriber {
  socket: RawWebSocket;
  subscribed: boolean;
  received: boolean;
  tail: Buffer | undefined;
  acknowledge: (() => void) | undefined;
}

let target: Target | undefined;
const subscribers: Subscriber[] = [];
let publisher: RawWebSocket | undefined;
let windowStart = Infinity;
let windowEnd = Infinity;
let total = 0;
let inWindow = 0;
let frames = 0;
let reads = 0;
let lastReadAt = 0;
let closed = 0;
let histogram = new Histogram();

/** Reads the send time written at `at` (ASCII digits and one dot) without making a string. */
function timeAt(data: Buffer, at: number): number {
  let whole = 0;
  let fraction = 0;
  let scale = 1;
  let seenDot = false;
  for (let i = at; i < data.length; i++) {
    const byte = data[i]!;
    if (byte === 0x2e) seenDot = true;
    else if (byte >= 0x30 && byte <= 0x39) {
      if (seenDot) fraction += (byte - 0x30) * (scale /= 10);
      else whole = whole * 10 + (byte - 0x30);
    } else break;
  }
  return whole + fraction;
}

function deliveries(subscriber: Subscriber, data: Buffer, at: number): void {
  let from = data.indexOf(T);
  if (from < 0) return;
  subscriber.received = true;
  let counted = false;
  while (from >= 0) {
    const sentAt = timeAt(data, from + T.length);
    if (sentAt >= windowStart) {
      counted = true;
      total++;
      if (at <= windowEnd) inWindow++;
      histogram.add(at - sentAt);
    }
    from = data.indexOf(T, from + T.length);
  }
  if (!counted) return;
  frames++;
  // Every read gets one clock reading, so a new reading is a new read.
  if (at !== lastReadAt) reads++;
  lastReadAt = at;
}

function onSubscriberData(subscriber: Subscriber, payload: Buffer, at: number): void {
  const wire = target!;
  let data = payload;
  if (wire.stream === true) {
    // Only whole lines: a delivery may span frames.
    if (subscriber.tail !== undefined) data = Buffer.concat([subscriber.tail, payload]);
    const last = data.lastIndexOf(0x0a);
    subscriber.tail = last === data.length - 1 ? undefined : Buffer.from(data.subarray(last + 1));
    data = data.subarray(0, last + 1);
    if (data.indexOf(PING) >= 0) subscriber.socket.sendText(wire.keepAliveReply!('PING\r\n')!);
  } else if (data.length < 8 && wire.keepAliveReply !== undefined) {
    const reply = wire.keepAliveReply(data.toString());
    if (reply !== undefined) subscriber.socket.sendText(reply);
  }
  if (!subscriber.subscribed) {
    if (!wire.isSubscribed(data.toString())) return;
    subscriber.subscribed = true;
    subscriber.acknowledge?.();
    return;
  }
  deliveries(subscriber, data, at);
}

/** Opens a connection and, for servers that speak first, completes their greeting. */
async function connect(url: string, onData: (socket: RawWebSocket, payload: Buffer, at: number) => void, onClose: () => void): Promise<RawWebSocket> {
  const wire = target!;
  let greetingFrames = 0;
  let greeted!: () => void;
  const greeting = new Promise<void>((resolve) => {
    greeted = resolve;
  });
  const socket = openRawWebSocket(
    url,
    wire.protocols,
    {
      onData: (payload, at) => {
        // Socket.IO: the server's open packet, answered by our namespace connect, then the server's reply.
        if (wire.greeting !== undefined && greetingFrames < 2) {
          if (++greetingFrames === 1) socket.sendText(wire.greeting);
          else greeted();
          return;
        }
        onData(socket, payload, at);
      },
      onClose,
    },
    now,
  );
  await socket.opened;
  if (wire.hello !== undefined) socket.sendText(wire.hello);
  if (wire.greeting !== undefined) await greeting;
  return socket;
}

async function openSubscriber(url: string): Promise<void> {
  const subscriber: Subscriber = { socket: undefined!, subscribed: false, received: false, tail: undefined, acknowledge: undefined };
  const acknowledged = new Promise<void>((resolve) => {
    subscriber.acknowledge = resolve;
  });
  subscriber.socket = await connect(
    url,
    (socket, payload, at) => {
      subscriber.socket = socket;
      onSubscriberData(subscriber, payload, at);
    },
    () => closed++,
  );
  subscribers.push(subscriber);
  subscriber.socket.sendText(target!.subscribe);
  await acknowledged;
}

function pad(t: number): string {
  const head = `{"t":${t.toFixed(3)},"p":"`;
  return `${head}${'x'.repeat(Math.max(0, 98 - head.length))}"}`;
}

function publishFrame(): Buffer {
  return clientFrame(0x1, Buffer.from(target!.publish(pad(now()))));
}

/** Sends `rate` messages per second from `startAt` to `endAt`, as many as are due at each timer tick. */
async function publishAtRate({ rate, startAt, endAt }: RunRequest): Promise<{ sent: number; skipped: number }> {
  const socket = publisher!.socket;
  let sent = 0;
  let skipped = 0;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - now())));
  for (;;) {
    const at = Math.min(now(), endAt);
    const due = Math.floor((rate * (at - startAt)) / 1000) - sent - skipped;
    if (due > 0) {
      if (socket.writableLength > MAX_UNSENT_BYTES) skipped += due;
      else {
        socket.cork();
        for (let i = 0; i < due; i++) socket.write(publishFrame());
        socket.uncork();
        sent += due;
      }
    }
    if (at >= endAt) return { sent, skipped };
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

type Request = { id: number } & (
  | ({ cmd: 'open' } & OpenRequest)
  | ({ cmd: 'run' } & RunRequest)
  | { cmd: 'one' | 'reached' | 'count' | 'stats' | 'close' }
);

async function handle(request: Request): Promise<unknown> {
  switch (request.cmd) {
    case 'open': {
      target = targetFor(request.target);
      for (let i = 0; i < request.subscribers; i += OPEN_WINDOW) {
        const batch = Array.from({ length: Math.min(OPEN_WINDOW, request.subscribers - i) }, (_, j) =>
          openSubscriber(target!.urls[(request.offset + i + j) % target!.urls.length]!),
        );
        await Promise.all(batch);
      }
      if (request.publisher) publisher = await connect(target.urls[0]!, () => {}, () => {});
      return { subscribed: subscribers.filter((subscriber) => subscriber.subscribed).length };
    }
    case 'one':
      publisher?.send(publishFrame());
      return {};
    case 'reached':
      return subscribers.filter((subscriber) => subscriber.received).length;
    case 'run':
      windowStart = request.startAt;
      windowEnd = request.endAt;
      total = 0;
      inWindow = 0;
      frames = 0;
      reads = 0;
      histogram = new Histogram();
      return publisher === undefined ? { sent: 0, skipped: 0 } : publishAtRate(request);
    case 'count':
      return total;
    case 'stats': {
      const cpu = process.cpuUsage();
      const stats: ClientStats = { total, inWindow, frames, reads, histogram: histogram.entries(), cpuSeconds: (cpu.user + cpu.system) / 1e6, closed };
      return stats;
    }
    case 'close':
      for (const subscriber of subscribers) subscriber.socket.socket.destroy();
      publisher?.socket.destroy();
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (request: Request) => {
  handle(request).then(
    (result) => process.send!({ id: request.id, result }),
    (error: unknown) => process.send!({ id: request.id, error: String(error) }),
  );
});
process.send!('ready');
