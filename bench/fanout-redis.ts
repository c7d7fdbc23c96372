// Fan-out across two nodes through Redis: 1 publisher on node A, subscribers split evenly between nodes
// A and B. Our broker with the Redis engine, next to the same load on one node with the memory engine,
// and next to Socket.IO 4 with `@socket.io/redis-adapter` on the same private redis-server (and Socket.IO
// on one node with its in-memory adapter, for scale). Every server runs in its own process.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRedisServer } from '@switchboard/broker/testing/redis-server';
import { BURST, PACED_RATE, SUBSCRIBERS, bestOf, latencyText, runFanout, type Result, type Target } from './fanout-load.js';
import { formatRate, type BenchResult } from './harness.js';
import { acceptsWebSocket, answers200, brokerArgs, cpuSeconds, freePort, startNode } from './processes.js';
import { socketIoTarget, switchboardTarget } from './targets.js';

interface ServerNode {
  port: number;
  pid: number;
}

/** A target and the processes whose CPU time is its servers' cost. */
interface Setup {
  target: Target;
  pids: number[];
}

export async function benchFanoutRedis(): Promise<BenchResult> {
  const redis = await startRedisServer();
  const children: ChildProcess[] = [];
  const redisPid = Number(readFileSync(join(redis.dir, 'redis.pid'), 'utf8'));
  const started = async (args: (port: number) => string[], ready: (port: number) => () => Promise<boolean>): Promise<ServerNode> => {
    const port = await freePort();
    const child = await startNode(args(port), ready(port));
    children.push(child);
    return { port, pid: child.pid! };
  };
  const ours = (...flags: string[]): Promise<ServerNode> =>
    started((port) => brokerArgs(port, ...flags), (port) => answers200(`http://127.0.0.1:${port}/readyz`));
  const socketIo = (...redisUrl: string[]): Promise<ServerNode> =>
    started((port) => ['--import=tsx', 'bench/servers/socketio-broker.ts', String(port), ...redisUrl], (port) =>
      acceptsWebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`),
    );
  const setup = (target: (name: string, ports: number[]) => Target, name: string, nodes: ServerNode[]): Setup => ({
    target: target(name, nodes.map((node) => node.port)),
    // Redis's CPU counts towards the setups that use it: it does part of their work.
    pids: [...nodes.map((node) => node.pid), ...(nodes.length > 1 ? [redisPid] : [])],
  });
  try {
    const setups = [
      setup(switchboardTarget, 'switchboard, memory engine, 1 node', [await ours()]),
      setup(switchboardTarget, 'switchboard, Redis engine, 2 nodes', [await ours('--redis-url', redis.url), await ours('--redis-url', redis.url)]),
      setup(socketIoTarget, 'Socket.IO 4, in-memory adapter, 1 node', [await socketIo()]),
      setup(socketIoTarget, 'Socket.IO 4, redis-adapter, 2 nodes', [await socketIo(redis.url), await socketIo(redis.url)]),
    ];
    const run = ({ target, pids }: Setup): Promise<Result> =>
      runFanout(target, () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0));
    // Two passes over all four, so drift in machine speed hits each alike; each keeps its best.
    const first: Result[] = [];
    for (const setup of setups) first.push(await run(setup));
    const results: Result[] = [];
    for (const [index, setup] of setups.entries()) results.push(bestOf(first[index]!, await run(setup)));
    const targets = setups.map((setup) => setup.target);

    const [oursMemory, oursRedis, socketIoMemory, socketIoRedis] = results as [Result, Result, Result, Result];
    const ratio = (a: Result, b: Result): string =>
      `delivered ${(a.deliveredPerSecond / b.deliveredPerSecond).toFixed(2)}x, server CPU per delivery ${(a.serverCpuMsPer1000! / b.serverCpuMsPer1000!).toFixed(2)}x`;
    return {
      name: `fan-out across nodes: 1 publisher, ${SUBSCRIBERS} subscribers split over the nodes, 100-byte messages (best of 2 runs each)`,
      lines: [
        `${'server'.padEnd(40)} ${`burst of ${BURST}, delivered`.padStart(22)}  server CPU / 1k deliveries   latency at ${PACED_RATE} publishes/s`,
        ...targets.map((target, index) => {
          const result = results[index]!;
          const cpu = `${result.serverCpuMsPer1000!.toFixed(1)} ms`;
          return `${target.name.padEnd(40)} ${formatRate(result.deliveredPerSecond, 'msg').padStart(22)}  ${cpu.padStart(26)}   ${latencyText(result)}`;
        }),
        `ratio switchboard Redis / Socket.IO redis-adapter    ${ratio(oursRedis, socketIoRedis)}`,
        `ratio switchboard Redis / switchboard memory         ${ratio(oursRedis, oursMemory)}`,
        `ratio Socket.IO redis-adapter / Socket.IO in-memory  ${ratio(socketIoRedis, socketIoMemory)}`,
      ],
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await redis.destroy();
  }
}
