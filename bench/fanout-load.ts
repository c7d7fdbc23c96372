// The fan-out load that both fan-out suites drive: 1 publisher, many subscribers of one topic, 100-byte
// JSON messages carrying their send time. Every server is driven by the same clients (the `ws` client
// library speaking each server's wire format), so only the servers differ.
import { WebSocket } from 'ws';
import { percentile } from './harness.js';

export const SUBSCRIBERS = 1000;
export const BURST = 300;
export const PACED_RATE = 20;
const PACED_MESSAGES = 60;
/** The shape of the load: how many subscribers, publishes in the burst, and paced publishes for latency. */
export interface Load {
  subscribers: number;
  burst: number;
  pacedMessages: number;
}
/** The fan-out suites' load (`fanout`, `fanout-redis`). */
export const FANOUT_LOAD: Load = { subscribers: SUBSCRIBERS, burst: BURST, pacedMessages: PACED_MESSAGES };
/** Longest wait for every subscriber to receive a burst. */
const deliveryTimeoutMs = 60_000;

export interface Target {
  name: string;
  /** Subscribers are spread round-robin over these; the publisher uses the first. */
  urls: string[];
  protocols: string[];
  /** Frames a fresh connection sends before it counts as open (Socket.IO's namespace connect). */
  greeting?: string;
  /** A frame sent as soon as the connection opens, with no reply awaited (NATS's CONNECT). */
  hello?: string;
  /**
   * The server's frames are a byte stream rather than one message each (NATS's protocol: a frame may hold
   * several deliveries, and a delivery may span frames); the load reads them as lines.
   */
  stream?: boolean;
  subscribe: string;
  isSubscribed(text: string): boolean;
  publish(data: string): string;
  /** The reply a server's keep-alive frame needs, if `text` is one (Engine.IO's ping). */
  keepAliveReply?(text: string): string | undefined;
}

export interface Result {
  deliveredPerSecond: number;
  p50: number;
  p99: number;
  /** CPU time the servers spent on the burst per 1,000 deliveries, in ms (when `serverCpuSeconds` is given). */
  serverCpuMsPer1000?: number;
}

/**
 * Runs the load against `target`. `serverCpuSeconds`, if given, reads the CPU time used so far by every
 * server process of the target; with the clients on the same cores, the delivery rate can be bound by the
 * clients, and server CPU per delivery is the figure that shows the servers' own cost.
 */
export async function runFanout(target: Target, serverCpuSeconds?: () => number, load: Load = FANOUT_LOAD): Promise<Result> {
  const { subscribers: subscriberCount, burst, pacedMessages } = load;
  const subscribers: WebSocket[] = [];
  let delivered = 0;
  let latencies: number[] = [];
  let onDelivery: (() => void) | undefined;
  const record = (text: string): void => {
    const at = text.indexOf('"t":');
    if (at === -1) return;
    latencies.push(now() - Number.parseFloat(text.slice(at + 4, text.indexOf(',', at))));
    delivered++;
    onDelivery?.();
  };
  for (let i = 0; i < subscriberCount; i += 100) {
    const batch = Array.from({ length: Math.min(100, subscriberCount - i) }, (_, j) =>
      subscribe(target, target.urls[(i + j) % target.urls.length]!, record),
    );
    subscribers.push(...(await Promise.all(batch)));
  }
  const publisher = await open(target, target.urls[0]!);
  const pad = (t: number): string => {
    const head = `{"t":${t.toFixed(3)},"p":"`;
    return `${head}${'x'.repeat(Math.max(0, 98 - head.length))}"}`;
  };
  const allDelivered = (expected: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${target.name}: ${delivered} of ${expected} delivered`)), deliveryTimeoutMs);
      onDelivery = () => {
        if (delivered < expected) return;
        clearTimeout(timer);
        onDelivery = undefined;
        resolve();
      };
      onDelivery();
    });

  // One message through first: a subscription that travels (to Redis, say) is in place before timing.
  publisher.send(target.publish(pad(now())));
  await allDelivered(subscriberCount);

  // Throughput: a burst, timed until every subscriber has every message.
  delivered = 0;
  const cpuBefore = serverCpuSeconds?.();
  const start = now();
  for (let i = 0; i < burst; i++) publisher.send(target.publish(pad(now())));
  await allDelivered(burst * subscriberCount);
  const deliveredPerSecond = (burst * subscriberCount) / ((now() - start) / 1000);
  const cpuSeconds = cpuBefore === undefined ? undefined : serverCpuSeconds!() - cpuBefore;

  // Latency: a steady rate well under saturation.
  delivered = 0;
  latencies = [];
  for (let i = 0; i < pacedMessages; i++) {
    publisher.send(target.publish(pad(now())));
    await new Promise((resolve) => setTimeout(resolve, 1000 / PACED_RATE));
  }
  await allDelivered(pacedMessages * subscriberCount);
  const sorted = latencies.sort((a, b) => a - b);

  publisher.terminate();
  for (const subscriber of subscribers) subscriber.terminate();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const result: Result = { deliveredPerSecond, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  if (cpuSeconds !== undefined) result.serverCpuMsPer1000 = (cpuSeconds * 1e6) / (burst * subscriberCount);
  return result;
}

/** Of two runs, the higher delivery rate, the latencies of the run with the lower p50, and the lower CPU cost. */
export function bestOf(a: Result, b: Result): Result {
  const latency = a.p50 <= b.p50 ? a : b;
  const best: Result = { deliveredPerSecond: Math.max(a.deliveredPerSecond, b.deliveredPerSecond), p50: latency.p50, p99: latency.p99 };
  if (a.serverCpuMsPer1000 !== undefined && b.serverCpuMsPer1000 !== undefined) {
    best.serverCpuMsPer1000 = Math.min(a.serverCpuMsPer1000, b.serverCpuMsPer1000);
  }
  return best;
}

export function latencyText(result: Result): string {
  return `p50 ${result.p50.toFixed(2)} ms p99 ${result.p99.toFixed(2)} ms`;
}

function now(): number {
  return performance.now();
}

function open(target: Target, url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, target.protocols, { perMessageDeflate: false });
    const { keepAliveReply } = target;
    if (keepAliveReply !== undefined) {
      socket.on('message', (data) => {
        const reply = keepAliveReply(data.toString());
        if (reply !== undefined) socket.send(reply);
      });
    }
    socket.once('error', reject);
    const { greeting, hello } = target;
    if (hello !== undefined) socket.once('open', () => socket.send(hello));
    if (greeting === undefined) {
      socket.once('open', () => resolve(socket));
      return;
    }
    // The server speaks first (Engine.IO's open packet), the greeting answers it, and its reply opens.
    let received = 0;
    const handshake = (): void => {
      if (++received === 1) return socket.send(greeting);
      socket.off('message', handshake);
      resolve(socket);
    };
    socket.on('message', handshake);
  });
}

async function subscribe(target: Target, url: string, record: (text: string) => void): Promise<WebSocket> {
  const socket = await open(target, url);
  await new Promise<void>((resolve) => {
    socket.on('message', (data) => {
      const text = data.toString();
      if (target.isSubscribed(text)) resolve();
      else record(text);
    });
    socket.send(target.subscribe);
  });
  return socket;
}
