// `pnpm bench fanout-peers` (issue 18): our broker beside its peers under the same multi-process load
// (`fanout-processes.ts`), 1 topic, subscribers split over the nodes, publishers on the first node, 100-byte
// messages carrying their send time:
//   - low load: 1 publisher at 500 publishes/s to 100 subscribers; latency p50 / p99, and deliveries per
//     CPU-second of the servers (and of redis-server where a setup uses it);
//   - saturation: a publisher in each load process, the rate raised step by step until the deliveries stop
//     growing, fall behind what is offered, or latency explodes; the best step's deliveries/s per node and
//     per CPU-second.
// Peers: NATS (Debian's nats-server, two nodes clustered by routes, WebSocket enabled), Socket.IO 4 with
// `@socket.io/redis-adapter`, and the naive broker on `ws` + `ioredis` (`servers/ws-broker.ts`).
// Tunable: PEERS_LOAD_PROCESSES (4), PEERS_SUBSCRIBERS (100), PEERS_RATE (500), PEERS_SECONDS (5),
// PEERS_STEP_SECONDS (2), PEERS_START_RATE (500), PEERS_PASSES (2), PEERS_ONLY (comma-separated setup keys).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRedisServer } from '@switchboard/broker/testing/redis-server';
import type { ChildProcess } from 'node:child_process';
import { LoadProcesses, type Step } from './fanout-processes.js';
import { formatRate, positiveEnv, type BenchResult } from './harness.js';
import { requireNatsServer, startNatsCluster, type NatsCluster } from './nats-cluster.js';
import { acceptsWebSocket, cpuSeconds, startOnFreePort, startOurBroker, type ServerProcess } from './processes.js';
import type { TargetSpec } from './targets.js';

const LOAD_PROCESSES = positiveEnv('PEERS_LOAD_PROCESSES', 4);
const SUBSCRIBERS = positiveEnv('PEERS_SUBSCRIBERS', 100);
const LOW_RATE = positiveEnv('PEERS_RATE', 500);
const LOW_SECONDS = positiveEnv('PEERS_SECONDS', 5);
const STEP_SECONDS = positiveEnv('PEERS_STEP_SECONDS', 2);
const START_RATE = positiveEnv('PEERS_START_RATE', 500);
const RAMP = 1.5;
const MAX_STEPS = 14;
/** Saturated: fewer deliveries in the window than this share of what was offered, */
const KEEPS_UP = 0.9;
/** or p99 above this (well above what a shared machine's scheduling stalls alone cause), */
const LATENCY_LIMIT_MS = 1000;
/** or a step 1.5x faster delivering less than this much more than the last step that passed. */
const GROWTH = 1.1;
/** Low-load runs per setup, alternating setups; each keeps its run with the lower p50. */
const PASSES = positiveEnv('PEERS_PASSES', 2);

interface Setup {
  key: string;
  target: TargetSpec;
  nodes: number;
  /** Processes whose CPU is the setup's cost: its servers, and Redis when it uses it. */
  pids: number[];
}

interface Saturation {
  best: Step;
  steps: Step[];
  why: string;
}

export async function benchFanoutPeers(): Promise<BenchResult> {
  const only = process.env.PEERS_ONLY?.split(',');
  const wanted = (key: string): boolean => only === undefined || only.includes(key);
  if (wanted('nats')) requireNatsServer();
  const redis = await startRedisServer();
  const redisPid = Number(readFileSync(join(redis.dir, 'redis.pid'), 'utf8'));
  const children: ChildProcess[] = [];
  let nats: NatsCluster | undefined;
  const track = ({ port, child }: ServerProcess): { port: number; pid: number } => {
    children.push(child);
    return { port, pid: child.pid! };
  };
  const ours = async (...flags: string[]) => track(await startOurBroker(flags));
  const naive = async () =>
    track(await startOnFreePort((port) => ['--import=tsx', 'bench/servers/ws-broker.ts', String(port), redis.url], (port) => acceptsWebSocket(`ws://127.0.0.1:${port}/`)));
  const socketIo = async () =>
    track(
      await startOnFreePort((port) => ['--import=tsx', 'bench/servers/socketio-broker.ts', String(port), redis.url], (port) =>
        acceptsWebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`),
      ),
    );
  const setup = (key: string, kind: TargetSpec['kind'], name: string, nodes: { port: number; pid: number }[], withRedis: boolean): Setup => ({
    key,
    target: { kind, name, ports: nodes.map((node) => node.port) },
    nodes: nodes.length,
    pids: [...nodes.map((node) => node.pid), ...(withRedis ? [redisPid] : [])],
  });
  try {
    const setups: Setup[] = [];
    if (wanted('memory')) setups.push(setup('memory', 'switchboard', 'switchboard, memory engine, 1 node', [await ours()], false));
    if (wanted('redis')) {
      const nodes = [await ours('--redis-url', redis.url), await ours('--redis-url', redis.url)];
      setups.push(setup('redis', 'switchboard', 'switchboard, Redis engine, 2 nodes', nodes, true));
    }
    if (wanted('nats')) {
      nats = await startNatsCluster(2);
      const nodes = nats.wsPorts.map((port, index) => ({ port, pid: nats!.pids[index]! }));
      setups.push(setup('nats', 'nats', 'NATS 2.9 cluster over WebSocket, 2 nodes', nodes, false));
    }
    if (wanted('naive')) setups.push(setup('naive', 'ws broker', 'naive ws + ioredis, 2 nodes', [await naive(), await naive()], true));
    if (wanted('socketio')) setups.push(setup('socketio', 'socket.io', 'Socket.IO 4, redis-adapter, 2 nodes', [await socketIo(), await socketIo()], true));

    const serverCpu = (pids: number[]) => (): number => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const low = new Map<string, Step>();
    for (let pass = 0; pass < PASSES; pass++) {
      for (const each of setups) {
        const step = await withLoad(each, 1, async (load) => {
          await load.step(LOW_RATE, 1, serverCpu(each.pids)); // settles timers and JIT, not counted
          return load.step(LOW_RATE, LOW_SECONDS, serverCpu(each.pids));
        });
        const before = low.get(each.key);
        if (before === undefined || step.p50 < before.p50) low.set(each.key, step);
      }
    }
    const saturated = new Map<string, Saturation>();
    for (const each of setups) saturated.set(each.key, await withLoad(each, LOAD_PROCESSES, (load) => saturate(load, serverCpu(each.pids))));
    return { name: `fan-out beside NATS and Socket.IO (issue 18): ${SUBSCRIBERS} subscribers, load in ${LOAD_PROCESSES} processes`, lines: report(setups, low, saturated) };
  } finally {
    // FANOUT_PROFILE (see processes.ts): our brokers exit on SIGINT and write their CPU profiles.
    for (const child of children) child.kill(process.env.FANOUT_PROFILE ? 'SIGINT' : 'SIGKILL');
    nats?.stop();
    await redis.destroy();
  }
}

/** Fresh load processes and connections for one scenario on one setup. */
async function withLoad<T>(setup: Setup, publishers: number, scenario: (load: LoadProcesses) => Promise<T>): Promise<T> {
  const load = await LoadProcesses.start(LOAD_PROCESSES);
  try {
    await load.open(setup.target, SUBSCRIBERS, publishers);
    await load.warm(setup.target.name);
    return await scenario(load);
  } finally {
    await load.close();
  }
}

async function saturate(load: LoadProcesses, serverCpu: () => number): Promise<Saturation> {
  const steps: Step[] = [];
  let best: Step | undefined;
  let passed: Step | undefined;
  let rate = START_RATE;
  // A step that fails is run up to twice more at the same rate before the ramp ends: on a shared machine
  // one step can lose its cores to another process.
  let retries = 0;
  // Fresh load processes run their first second with unoptimised code (p50 in the hundreds of ms at the
  // lowest rate, for every server): a step not counted, as at low load.
  await load.step(START_RATE, 1, serverCpu);
  for (let index = 0; index < MAX_STEPS; index++) {
    const step = await load.step(Math.round(rate), STEP_SECONDS, serverCpu);
    steps.push(step);
    if (process.env.PEERS_VERBOSE) process.stderr.write(`${JSON.stringify(step)}\n`);
    const grew = passed === undefined || step.deliveredPerSecond > passed.deliveredPerSecond * GROWTH;
    if (best === undefined || step.deliveredPerSecond > best.deliveredPerSecond) best = step;
    const offered = step.offeredPerSecond + (step.skipped * SUBSCRIBERS) / step.seconds;
    const failure =
      step.closed > 0 ? `${step.closed} subscribers disconnected at ${step.rate}/s`
      : step.deliveredPerSecond < KEEPS_UP * offered ? `fell behind at ${step.rate}/s`
      : step.p99 > LATENCY_LIMIT_MS ? `p99 ${step.p99.toFixed(0)} ms at ${step.rate}/s`
      : grew ? undefined
      : `stopped growing at ${step.rate}/s`;
    if (failure === undefined) {
      passed = step;
      retries = 0;
      rate *= RAMP;
    } else if (++retries > 2 || step.closed > 0) return { best, steps, why: failure };
  }
  const last = steps.at(-1)!;
  return { best: best!, steps, why: `step limit, the last at ${last.rate}/s delivering ${((100 * last.deliveredPerSecond) / last.offeredPerSecond).toFixed(0)}% of it` };
}

const perCpuSecond = (step: Step): number => (step.deliveredPerSecond * step.seconds) / step.serverCpuSeconds;
const ms = (value: number): string => `${value.toFixed(2)} ms`;
const times = (value: number): string => `${value.toFixed(2)}x`;

function report(setups: Setup[], low: Map<string, Step>, saturated: Map<string, Saturation>): string[] {
  const lines: string[] = [];
  const lowNats = low.get('nats');
  lines.push(
    `low load: 1 publisher, ${LOW_RATE} publishes/s for ${LOW_SECONDS} s`,
    `${'setup'.padEnd(42)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} ${'delivered'.padStart(12)} ${'server CPU'.padStart(10)} ${'per CPU-s'.padStart(12)} ${'per frame/read'.padStart(15)}   vs NATS: p50 / p99 / per CPU-s`,
  );
  for (const setup of setups) {
    const step = low.get(setup.key)!;
    const cpu = `${((step.serverCpuSeconds / step.seconds) * 100).toFixed(0)}%`;
    const versus = lowNats === undefined || setup.key === 'nats' ? '' : `${times(step.p50 / lowNats.p50)} / ${times(step.p99 / lowNats.p99)} / ${times(perCpuSecond(step) / perCpuSecond(lowNats))}`;
    const batching = `${(step.delivered / step.frames).toFixed(1)} / ${(step.delivered / step.reads).toFixed(1)}`;
    const lost = step.delivered < step.expected ? `  (${step.expected - step.delivered} not delivered)` : '';
    lines.push(
      `${setup.target.name.padEnd(42)} ${ms(step.p50).padStart(9)} ${ms(step.p99).padStart(9)} ${formatRate(step.deliveredPerSecond, '').padStart(12)} ${cpu.padStart(10)} ${formatRate(perCpuSecond(step), '').padStart(12)} ${batching.padStart(15)}   ${versus}${lost}`,
    );
  }
  const satNats = saturated.get('nats')?.best;
  const satSocketIo = saturated.get('socketio')?.best;
  lines.push(
    '',
    `saturation: ${LOAD_PROCESSES} publishers from ${START_RATE}/s, x${RAMP} per ${STEP_SECONDS} s step; the best step`,
    `${'setup'.padEnd(42)} ${'delivered'.padStart(12)} ${'per node'.padStart(12)} ${'per CPU-s'.padStart(12)} ${'p99'.padStart(10)} ${'load CPU'.padStart(9)} ${'per frame/read'.padStart(15)}   per node, per CPU-s vs NATS | vs Socket.IO   (ended: why)`,
  );
  for (const setup of setups) {
    const { best, why } = saturated.get(setup.key)!;
    const perNode = best.deliveredPerSecond / setup.nodes;
    const versus = (peer: Step | undefined, peerNodes: number): string =>
      peer === undefined ? '-' : `${times(perNode / (peer.deliveredPerSecond / peerNodes))}, ${times(perCpuSecond(best) / perCpuSecond(peer))}`;
    const load = `${((best.clientCpuSeconds / best.seconds) * 100).toFixed(0)}%`;
    const batching = `${(best.delivered / best.frames).toFixed(1)} / ${(best.delivered / best.reads).toFixed(1)}`;
    lines.push(
      `${setup.target.name.padEnd(42)} ${formatRate(best.deliveredPerSecond, '').padStart(12)} ${formatRate(perNode, '').padStart(12)} ${formatRate(perCpuSecond(best), '').padStart(12)} ${ms(best.p99).padStart(10)} ${load.padStart(9)} ${batching.padStart(15)}   ${versus(satNats, 2)} | ${versus(satSocketIo, 2)}   (${why})`,
    );
  }
  lines.push(`machine: ${LOAD_PROCESSES} load processes share the cores with the servers; load average ${loadAverage()}`);
  return lines;
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
