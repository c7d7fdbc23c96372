// A join/leave storm on two broker processes and one private redis-server (docs/design/presence.md §6, bench
// item 2): connections arrive at a steady rate, alternating between the nodes, each subscribes to one topic and
// closes about 2 s later. Once on a topic under PRESENCE, with event subscribers (`"presence":"connection"`)
// split over the nodes; once on a topic outside PRESENCE, with the same subscribers as plain subscriptions.
// Redis CPU (`INFO cpu` delta) and the brokers' CPU (/proc), as presence / without ratios; and the check that
// every change reached every event subscriber as an entry or inside a coalesced stats entry.
//
// The design's figure is 1,000 joins/s for 10 s; on the shared 2-core machine that is more than the client
// side alone can open, so the default is 200 joins/s for 5 s. PRESENCE_STORM_RATE=1000 PRESENCE_STORM_SECONDS=10
// runs the full storm; PRESENCE_STORM_SUBSCRIBERS (default 20; the design says 100) sets the event subscribers.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { startRedisServer } from '@switchboard/broker/testing/redis-server';
import { positiveEnv, type BenchResult } from './harness.js';
import { answers200, brokerArgs, cpuSeconds, freePort, startNode } from './processes.js';

const RATE = positiveEnv('PRESENCE_STORM_RATE', 200);
const SECONDS = positiveEnv('PRESENCE_STORM_SECONDS', 5);
const SUBSCRIBERS = positiveEnv('PRESENCE_STORM_SUBSCRIBERS', 20);
const HOLD_MS = 2000;
const EVENT_RATE = 50;
/** Longest wait for the last entries and flushes once the storm is over. */
const SETTLE_TIMEOUT_MS = 30_000;

interface Watcher {
  readonly socket: WebSocket;
  /** Join and leave entries, and the changes coalesced into stats entries, since the mark. */
  entries: number;
  coalesced: number;
  frames: number;
  /** `presence_gap` notices (a slow subscriber dropped entries): the check cannot hold then. */
  gaps: number;
}

interface Run {
  readonly label: string;
  readonly opened: number;
  readonly failed: number;
  /** From the first connection launched to the last one subscribed: the join rate the servers actually took. */
  readonly seconds: number;
  readonly redisCpu: number;
  readonly brokerCpu: number;
  readonly watchers: readonly Watcher[];
}

export async function benchPresenceStorm(): Promise<BenchResult> {
  const redis = await startRedisServer();
  const admin = new Redis(redis.url);
  const redisPid = Number(readFileSync(join(redis.dir, 'redis.pid'), 'utf8'));
  const children: ChildProcess[] = [];
  try {
    const ports: number[] = [];
    for (let index = 0; index < 2; index++) {
      const port = await freePort();
      const flags = ['--redis-url', redis.url, '--presence', 'chat.>', '--presence-event-rate', String(EVENT_RATE), '--node-name', `storm-${index}`];
      children.push(await startNode(brokerArgs(port, ...flags), answers200(`http://127.0.0.1:${port}/readyz`)));
      ports.push(port);
    }
    const pids = children.map((child) => child.pid!);
    const without = await storm('without presence (plain.storm)', 'plain.storm', false, ports, pids, admin);
    const withPresence = await storm('with presence (chat.storm)', 'chat.storm', true, ports, pids, admin);
    const expected = 2 * withPresence.opened;
    const exact = withPresence.watchers.filter((watcher) => watcher.entries + watcher.coalesced === expected).length;
    const row = (run: Run): string =>
      `${run.label.padEnd(32)} ${String(run.opened).padStart(6)} joins in ${run.seconds.toFixed(1)} s = ${(run.opened / run.seconds).toFixed(0)}/s (${run.failed} failed)   Redis CPU ${(run.redisCpu * 1000).toFixed(0).padStart(5)} ms   brokers CPU ${(run.brokerCpu * 1000).toFixed(0).padStart(6)} ms   frames/subscriber ${median(run.watchers.map((watcher) => watcher.frames))}`;
    const perChange = (run: Run, cpu: number): string => `${((cpu * 1e6) / (2 * run.opened)).toFixed(0)} µs`;
    const entries = withPresence.watchers.map((watcher) => watcher.entries);
    return {
      name: `presence storm: ${RATE} joins/s for ${SECONDS} s, each connection closing after ${HOLD_MS / 1000} s, 2 broker processes + Redis, ${SUBSCRIBERS} event subscribers, PRESENCE_EVENT_RATE ${EVENT_RATE}`,
      lines: [
        row(without),
        row(withPresence),
        `CPU per join or leave              Redis ${perChange(without, without.redisCpu)} without, ${perChange(withPresence, withPresence.redisCpu)} with presence; brokers ${perChange(without, without.brokerCpu)} without, ${perChange(withPresence, withPresence.brokerCpu)} with`,
        `ratio with / without presence      Redis CPU ${(withPresence.redisCpu / without.redisCpu).toFixed(2)}x   brokers CPU ${(withPresence.brokerCpu / without.brokerCpu).toFixed(2)}x`,
        `check: entries + coalesced = ${expected} (joins + leaves) at ${exact} of ${withPresence.watchers.length} event subscribers; entries per subscriber ${Math.min(...entries)} - ${Math.max(...entries)}; presence_gap notices ${withPresence.watchers.reduce((sum, watcher) => sum + watcher.gaps, 0)}`,
      ],
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    admin.disconnect();
    await redis.destroy();
  }
}

async function storm(label: string, topic: string, presence: boolean, ports: readonly number[], pids: readonly number[], redis: Redis): Promise<Run> {
  const watchers = await Promise.all(Array.from({ length: SUBSCRIBERS }, (_, index) => watch(ports[index % ports.length]!, topic, presence)));
  // The watchers' own joins and their coalesced flush (a second after the window opened) are before the mark.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  for (const watcher of watchers) Object.assign(watcher, { entries: 0, coalesced: 0, frames: 0, gaps: 0 });
  const redisBefore = await redisCpu(redis);
  const brokersBefore = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const started = performance.now();
  const total = Math.round(RATE * SECONDS);
  let launched = 0;
  let lastSubscribed = started;
  let opened = 0;
  let failed = 0;
  const visits: Promise<void>[] = [];
  // Paced on a 10 ms tick, catching up on the schedule if a tick runs late.
  while (launched < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE) + 1);
    for (; launched < due; launched++) {
      const subscribed = (): void => void (lastSubscribed = performance.now());
      visits.push(visit(ports[launched % ports.length]!, topic, subscribed).then(() => void opened++, () => void failed++));
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(visits);
  const seconds = (lastSubscribed - started) / 1000;
  if (presence) {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    while (Date.now() < deadline && watchers.some((watcher) => watcher.entries + watcher.coalesced < 2 * opened)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } else {
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
  const redisCpuUsed = (await redisCpu(redis)) - redisBefore;
  const brokerCpu = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - brokersBefore;
  for (const watcher of watchers) watcher.socket.close();
  return { label, opened, failed, seconds, redisCpu: redisCpuUsed, brokerCpu, watchers };
}

/** A subscriber that counts the topic's presence entries and the changes its stats entries coalesced. */
async function watch(port: number, topic: string, presence: boolean): Promise<Watcher> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, ['pubsub.v1']);
  const watcher: Watcher = { socket, entries: 0, coalesced: 0, frames: 0, gaps: 0 };
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('message', (data: Buffer) => {
      watcher.frames++;
      const text = data.toString();
      if (text.startsWith('{"op":"welcome"')) {
        socket.send(JSON.stringify({ op: 'subscribe', id: 1, pattern: topic, ...(presence ? { presence: 'connection' } : {}) }));
      } else if (text.startsWith('{"op":"subscribed"')) {
        resolve();
      } else if (text.startsWith('{"op":"join"') || text.startsWith('{"op":"leave"')) {
        watcher.entries++;
      } else if (text.startsWith('{"op":"presence_stats"')) {
        watcher.coalesced += (JSON.parse(text) as { coalesced?: number }).coalesced ?? 0;
      } else if (text.startsWith('{"op":"presence_gap"')) {
        watcher.gaps++;
      } else if (text.startsWith('{"op":"error"')) {
        reject(new Error(text));
      }
    });
  });
  return watcher;
}

/** One storm connection: connect, subscribe, stay `HOLD_MS`, close. */
function visit(port: number, topic: string, subscribed: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`, ['pubsub.v1']);
    socket.once('error', reject);
    socket.once('close', () => resolve());
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith('{"op":"welcome"')) socket.send(JSON.stringify({ op: 'subscribe', id: 1, pattern: topic }));
      else if (text.startsWith('{"op":"subscribed"')) {
        subscribed();
        setTimeout(() => socket.close(), HOLD_MS);
      } else if (text.startsWith('{"op":"error"')) reject(new Error(text));
    });
  });
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? 0;
}
