// Fan-out on one node: 1 publisher, 1,000 subscribers of one topic, 100-byte JSON messages. Our broker
// against a minimal broker written on `ws`, each in its own process, driven by the same clients (the `ws`
// client library for both, so only the brokers differ).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { comparisonLine, percentile, type BenchResult } from './harness.js';

const SUBSCRIBERS = 1000;
const BURST = 300;
const PACED_RATE = 20;
const PACED_MESSAGES = 60;
const TOPIC = 'bench.fanout';
const root = fileURLToPath(new URL('..', import.meta.url));

interface Target {
  name: string;
  url: string;
  protocols: string[];
  subscribe: string;
  isSubscribed(text: string): boolean;
  publish(data: string): string;
}

export async function benchFanout(): Promise<BenchResult> {
  const oursPort = await freePort();
  const theirsPort = await freePort();
  const ours = await startProcess(
    process.execPath,
    [...(process.env.FANOUT_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/bprof'] : []), '--conditions=@switchboard/source', '--import=tsx', 'packages/broker/src/cli.ts', '--port', String(oursPort), '--ws-path', '/', '--publish-rate', '0', '--log-level', 'warn'],
    oursPort,
  );
  const theirs = await startProcess(process.execPath, ['--import=tsx', 'bench/servers/ws-broker.ts', String(theirsPort)], theirsPort);
  try {
    const oursTarget: Target = {
      name: 'switchboard',
      url: `ws://127.0.0.1:${oursPort}/`,
      protocols: ['pubsub.v1'],
      subscribe: JSON.stringify({ op: 'subscribe', id: 1, pattern: TOPIC }),
      isSubscribed: (text) => text.startsWith('{"op":"subscribed"'),
      publish: (data) => `{"op":"publish","topic":"${TOPIC}","priority":"normal","data":${data}}`,
    };
    const theirsTarget: Target = {
      name: 'ws broker',
      url: `ws://127.0.0.1:${theirsPort}/`,
      protocols: [],
      subscribe: JSON.stringify({ op: 'subscribe', topic: TOPIC }),
      isSubscribed: (text) => text === '{"op":"subscribed"}',
      publish: (data) => `{"op":"publish","topic":"${TOPIC}","data":${data}}`,
    };
    const oursResult = await run(oursTarget);
    const theirsResult = await run(theirsTarget);
    const oursAgain = await run(oursTarget);
    const theirsAgain = await run(theirsTarget);
    const rate = (a: Result, b: Result): number => Math.max(a.deliveredPerSecond, b.deliveredPerSecond);
    const oursRate = rate(oursResult, oursAgain);
    const theirsRate = rate(theirsResult, theirsAgain);
    const best = (a: Result, b: Result): Result => (a.p50 <= b.p50 ? a : b);
    const oursLatency = best(oursResult, oursAgain);
    const theirsLatency = best(theirsResult, theirsAgain);
    return {
      name: `fan-out on one node: 1 publisher, ${SUBSCRIBERS} subscribers, 100-byte messages (best of 2 runs each)`,
      lines: [
        comparisonLine(`burst of ${BURST}, delivered messages`, { ours: { opsPerSecond: oursRate }, baseline: { opsPerSecond: theirsRate }, ratio: oursRate / theirsRate }, 'msg', 'ws broker'),
        `latency at ${PACED_RATE} publishes/s (${PACED_RATE * SUBSCRIBERS} deliveries/s)  ours p50 ${oursLatency.p50.toFixed(2)} ms p99 ${oursLatency.p99.toFixed(2)} ms   ws broker p50 ${theirsLatency.p50.toFixed(2)} ms p99 ${theirsLatency.p99.toFixed(2)} ms`,
      ],
    };
  } finally {
    ours.kill(process.env.FANOUT_PROFILE ? 'SIGINT' : 'SIGKILL');
    theirs.kill('SIGKILL');
  }
}

interface Result {
  deliveredPerSecond: number;
  p50: number;
  p99: number;
}

async function run(target: Target): Promise<Result> {
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
  for (let i = 0; i < SUBSCRIBERS; i += 100) {
    const batch = Array.from({ length: Math.min(100, SUBSCRIBERS - i) }, () => subscribe(target, record));
    subscribers.push(...(await Promise.all(batch)));
  }
  const publisher = await open(target);
  const pad = (t: number): string => {
    const head = `{"t":${t.toFixed(3)},"p":"`;
    return `${head}${'x'.repeat(Math.max(0, 98 - head.length))}"}`;
  };
  const allDelivered = (expected: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${target.name}: ${delivered} of ${expected} delivered`)), 60_000);
      onDelivery = () => {
        if (delivered < expected) return;
        clearTimeout(timer);
        onDelivery = undefined;
        resolve();
      };
      onDelivery();
    });

  // Throughput: a burst, timed until every subscriber has every message.
  delivered = 0;
  const start = now();
  for (let i = 0; i < BURST; i++) publisher.send(target.publish(pad(now())));
  await allDelivered(BURST * SUBSCRIBERS);
  const deliveredPerSecond = (BURST * SUBSCRIBERS) / ((now() - start) / 1000);

  // Latency: a steady rate well under saturation.
  delivered = 0;
  latencies = [];
  for (let i = 0; i < PACED_MESSAGES; i++) {
    publisher.send(target.publish(pad(now())));
    await new Promise((resolve) => setTimeout(resolve, 1000 / PACED_RATE));
  }
  await allDelivered(PACED_MESSAGES * SUBSCRIBERS);
  const sorted = latencies.sort((a, b) => a - b);

  publisher.terminate();
  for (const subscriber of subscribers) subscriber.terminate();
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { deliveredPerSecond, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

function now(): number {
  return performance.now();
}

function open(target: Target): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(target.url, target.protocols, { perMessageDeflate: false });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function subscribe(target: Target, record: (text: string) => void): Promise<WebSocket> {
  const socket = await open(target);
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

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startProcess(command: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    const up = await new Promise<boolean>((resolve) => {
      const probe = new WebSocket(`ws://127.0.0.1:${port}/`, ['pubsub.v1']);
      probe.once('open', () => {
        probe.terminate();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (up) return child;
    if (Date.now() > deadline) throw new Error(`${args.join(' ')} did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
