// Fan-out at low load (issue 18): 1 publisher, 100 subscribers, 500 publishes/s, 100-byte messages. Latency
// from send to receipt (p50 / p99 over every delivery) and deliveries per server CPU-second (brokers plus
// Redis where used), beside NATS (Debian's nats-server) over WebSocket, one node and a two-node cluster.
// The clients are raw sockets (raw-websocket.ts: frames masked with the zero key, a minimal frame reader)
// so the load generator takes little of the two cores the servers share with it; NATS is started by
// nats-cluster.ts, as for fanout-peers.
// LOW_LOAD_SECONDS (6) per measurement, LOW_LOAD_ROUNDS (3) rounds in rotating order, LOW_LOAD_SETUPS (all:
// memory,redis,nats,nats1), LOW_LOAD_BASE=/another/checkout adds that checkout's broker (before / after),
// LOW_LOAD_DETAIL=1 prints each process's CPU and Redis's commandstats.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRedisServer } from '@switchboard/broker/testing/redis-server';
import { positiveEnv, type BenchResult } from './harness.js';
import { requireNatsServer, startNatsCluster, type NatsCluster } from './nats-cluster.js';
import { openRawWebSocket, type RawWebSocket } from './raw-websocket.js';
import { cpuSeconds, startOurBroker, type ServerProcess } from './processes.js';

const SUBSCRIBERS = 100;
const RATE = positiveEnv('LOW_LOAD_RATE', 500);
const TOPIC = 'bench.fanout';

interface Wire {
  protocol: string | undefined;
  /** Frames sent after the handshake; `ready` says when the subscription is in place. */
  subscribe: string;
  ready(text: string): boolean;
  publish(data: string): string;
}

const switchboardWire: Wire = {
  protocol: 'pubsub.v1',
  subscribe: JSON.stringify({ op: 'subscribe', id: 1, pattern: TOPIC }),
  ready: (text) => text.includes('"op":"subscribed"'),
  publish: (data) => `{"op":"publish","topic":"${TOPIC}","priority":"normal","data":${data}}`,
};

const natsWire: Wire = {
  protocol: undefined,
  subscribe: `CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nSUB ${TOPIC} 1\r\nPING\r\n`,
  ready: (text) => text.includes('PONG'),
  publish: (data) => `PUB ${TOPIC} ${Buffer.byteLength(data)}\r\n${data}\r\n`,
};

/**
 * A raw client (raw-websocket.ts) that sends `wire.subscribe` once upgraded and resolves once `wire.ready`
 * says the subscription is in place; each later text payload goes to `onText` with its read's arrival time.
 */
async function open(port: number, wire: Wire, onText: (text: Buffer, at: number) => void): Promise<RawWebSocket> {
  let ready!: () => void;
  const subscribed = new Promise<void>((resolve) => (ready = resolve));
  let isSubscribed = false;
  const socket = openRawWebSocket(
    `ws://127.0.0.1:${port}/`,
    wire.protocol === undefined ? [] : [wire.protocol],
    {
      onData: (payload, at) => {
        if (isSubscribed) return onText(payload, at);
        if (wire.ready(payload.toString('latin1'))) {
          isSubscribed = true;
          ready();
        }
      },
      onClose: () => {},
    },
    () => performance.now(),
  );
  await socket.opened;
  socket.sendText(wire.subscribe);
  await subscribed;
  return socket;
}

interface Setup {
  name: string;
  ports: number[];
  pids: number[];
  wire: Wire;
}

interface Measured {
  p50: number;
  p99: number;
  deliveries: number;
  cpu: number;
}

const rate = (m: Measured): number => m.deliveries / m.cpu;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

function summary(runs: Measured[]): string {
  const rates = runs.map(rate);
  return (
    `p50 ${median(runs.map((m) => m.p50)).toFixed(2)} ms  p99 ${median(runs.map((m) => m.p99)).toFixed(2)} ms  ` +
    `${(median(rates) / 1000).toFixed(0)}k, ${(Math.max(...rates) / 1000).toFixed(0)}k`
  );
}

async function measure(setup: Setup, seconds: number): Promise<Measured> {
  let latencies: number[] = [];
  let counting = false;
  const onText = (text: Buffer, received: number): void => {
    let at = text.indexOf('"t":');
    while (at !== -1) {
      const sent = Number.parseFloat(text.toString('latin1', at + 4, at + 20));
      if (counting) latencies.push(received - sent);
      at = text.indexOf('"t":', at + 4);
    }
  };
  const subscribers: RawWebSocket[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) subscribers.push(await open(setup.ports[i % setup.ports.length]!, setup.wire, onText));
  const publisher = await open(setup.ports[0]!, setup.wire, () => {});
  // Subscriptions that travel (a NATS route, Redis) settle before timing.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const pad = (t: number): string => {
    const head = `{"t":${t.toFixed(4)},"p":"`;
    return `${head}${'x'.repeat(Math.max(0, 98 - head.length))}"}`;
  };
  const run = async (ms: number): Promise<void> => {
    const start = performance.now();
    let sent = 0;
    while (performance.now() - start < ms) {
      const due = Math.floor(((performance.now() - start) * RATE) / 1000);
      while (sent < due) {
        publisher.sendText(setup.wire.publish(pad(performance.now())));
        sent++;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  };
  await run(2000); // warm-up
  latencies = [];
  counting = true;
  const before = setup.pids.map((pid) => cpuSeconds(pid));
  const cpuBefore = before.reduce((sum, cpu) => sum + cpu, 0);
  await run(seconds * 1000);
  const cpu = setup.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - cpuBefore;
  if (process.env.LOW_LOAD_DETAIL !== undefined) console.log('  per process CPU s', setup.pids.map((pid, i) => (cpuSeconds(pid) - before[i]!).toFixed(2)).join(' '));
  counting = false;
  for (const client of [publisher, ...subscribers]) client.socket.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  const pick = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
  return { p50: pick(50), p99: pick(99), deliveries: sorted.length, cpu };
}

export async function benchLowLoad(): Promise<BenchResult> {
  const seconds = positiveEnv('LOW_LOAD_SECONDS', 6);
  const only = (process.env.LOW_LOAD_SETUPS ?? '').split(',').filter((name) => name !== '');
  const lines: string[] = [];
  const detail = process.env.LOW_LOAD_DETAIL !== undefined;
  const children: ChildProcess[] = [];
  const clusters: NatsCluster[] = [];
  if (only.length === 0 || only.some((name) => name.startsWith('nats'))) requireNatsServer();
  const redis = await startRedisServer();
  const redisPid = Number(readFileSync(join(redis.dir, 'redis.pid'), 'utf8'));
  try {
    const base = process.env.LOW_LOAD_BASE;
    const track = ({ port, child }: ServerProcess): { port: number; pid: number } => {
      children.push(child);
      return { port, pid: child.pid! };
    };
    const ours = async (...flags: string[]) => track(await startOurBroker(flags));
    const theirs = async (...flags: string[]) => track(await startOurBroker(flags, join(base!, 'packages/broker/src/cli.ts')));
    const nats = async (count: number): Promise<{ ports: number[]; pids: number[] }> => {
      const cluster = await startNatsCluster(count);
      clusters.push(cluster);
      return { ports: cluster.wsPorts, pids: cluster.pids };
    };
    const setups: Array<() => Promise<Setup>> = [];
    const want = (name: string): boolean => only.length === 0 || only.includes(name);
    if (want('memory')) setups.push(async () => { const a = await ours(); return { name: 'switchboard, memory engine, 1 node', ports: [a.port], pids: [a.pid], wire: switchboardWire }; });
    if (want('redis'))
      setups.push(async () => {
        const a = await ours('--redis-url', redis.url);
        const b = await ours('--redis-url', redis.url);
        return { name: 'switchboard, Redis engine, 2 nodes', ports: [a.port, b.port], pids: [a.pid, b.pid, redisPid], wire: switchboardWire };
      });
    if (base !== undefined && want('memory')) setups.push(async () => { const a = await theirs(); return { name: 'base, memory engine, 1 node', ports: [a.port], pids: [a.pid], wire: switchboardWire }; });
    if (base !== undefined && want('redis'))
      setups.push(async () => {
        const a = await theirs('--redis-url', redis.url);
        const b = await theirs('--redis-url', redis.url);
        return { name: 'base, Redis engine, 2 nodes', ports: [a.port, b.port], pids: [a.pid, b.pid, redisPid], wire: switchboardWire };
      });
    if (want('nats')) setups.push(async () => { const n = await nats(2); return { name: 'NATS 2.9 cluster, 2 nodes, WebSocket', ports: n.ports, pids: n.pids, wire: natsWire }; });
    if (want('nats1')) setups.push(async () => { const n = await nats(1); return { name: 'NATS 2.9, 1 node, WebSocket', ports: n.ports, pids: n.pids, wire: natsWire }; });
    const built: Setup[] = [];
    for (const make of setups) built.push(await make());
    const rounds = positiveEnv('LOW_LOAD_ROUNDS', 3);
    const results = new Map<Setup, Measured[]>(built.map((setup) => [setup, []]));
    for (let round = 0; round < rounds; round++) {
      // The order rotates, so drift in the machine's load falls on each setup alike.
      for (const setup of [...built.slice(round % built.length), ...built.slice(0, round % built.length)]) {
        if (detail) spawnSync('redis-cli', ['-u', redis.url, 'CONFIG', 'RESETSTAT']);
        const m = await measure(setup, seconds);
        results.get(setup)!.push(m);
        if (detail && setup.pids.includes(redisPid)) console.log(spawnSync('redis-cli', ['-u', redis.url, 'INFO', 'commandstats']).stdout.toString());
        if (detail) console.log(`${setup.name.padEnd(40)} ${summary([m])}`);
      }
    }
    lines.push(`${'server'.padEnd(40)} median of ${rounds} rounds of ${seconds} s: latency; deliveries per server CPU-second (median, best)`);
    for (const [setup, runs] of results) lines.push(`${setup.name.padEnd(40)} ${summary(runs)}`);
    const byName = (prefix: string): Measured[] | undefined => [...results].find(([setup]) => setup.name.startsWith(prefix))?.[1];
    const cluster = byName('NATS 2.9 cluster');
    for (const ours of ['switchboard, memory', 'switchboard, Redis']) {
      const runs = byName(ours);
      if (runs === undefined || cluster === undefined) continue;
      const ratio = (pick: (runs: Measured[]) => number): string => (pick(runs) / pick(cluster)).toFixed(2);
      lines.push(
        `ratio ${ours.slice(13)} / NATS cluster: p50 ${ratio((r) => median(r.map((m) => m.p50)))}x, p99 ${ratio((r) => median(r.map((m) => m.p99)))}x, ` +
          `deliveries per CPU-second ${ratio((r) => median(r.map(rate)))}x`,
      );
    }
    return { name: `fan-out at low load: 1 publisher, ${SUBSCRIBERS} subscribers, ${RATE} publishes/s, 100-byte messages`, lines };
  } finally {
    for (const child of children) child.kill(process.env.FANOUT_PROFILE ? 'SIGINT' : 'SIGKILL');
    for (const cluster of clusters) cluster.stop();
    await new Promise((resolve) => setTimeout(resolve, process.env.FANOUT_PROFILE ? 2000 : 0));
    await redis.destroy();
  }
}

