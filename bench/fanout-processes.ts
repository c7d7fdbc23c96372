// The parent's side of the multi-process fan-out load: forks `fanout-clients.ts` processes, spreads the
// subscribers over them, and runs timed steps at a publish rate, gathering deliveries, latency and CPU.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientStats, OpenRequest, RunRequest } from './fanout-clients.js';
import { mergedPercentile } from './latency-histogram.js';
import { cpuSeconds } from './processes.js';
import type { TargetSpec } from './targets.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
/** Longest wait for a request to a client process (opening a thousand subscriptions on a loaded machine). */
const requestTimeoutMs = 120_000;
/** Time for every process to receive a run request before its window opens. */
const RUN_LEAD_MS = 250;
/** A step's deliveries have drained once the count has not moved for this long (or all arrived). */
const QUIET_MS = 500;
const DRAIN_LIMIT_MS = 10_000;

/** One timed step at a publish rate. */
export interface Step {
  rate: number;
  sent: number;
  /** Publishes not sent because the server was not reading the publishers' sockets. */
  skipped: number;
  /** Deliveries received within the window (of messages sent within it), per second. */
  deliveredPerSecond: number;
  /** Deliveries per second had every message sent reached every subscriber within the window. */
  offeredPerSecond: number;
  /** Deliveries of the window's messages received in all, by the end of the drain. */
  delivered: number;
  expected: number;
  /** WebSocket frames, and TCP reads, that carried those deliveries: how much each server batches. */
  frames: number;
  reads: number;
  p50: number;
  p99: number;
  /** CPU seconds the servers (and Redis) used within the window. */
  serverCpuSeconds: number;
  /** CPU seconds the load's processes used within the window. */
  clientCpuSeconds: number;
  seconds: number;
  closed: number;
}

export class LoadProcesses {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private subscribers = 0;
  private publishers = 0;

  private constructor(private readonly children: ChildProcess[]) {
    for (const child of children) {
      child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
        const waiter = this.waiting.get(message.id);
        if (waiter === undefined) return;
        this.waiting.delete(message.id);
        if (message.error !== undefined) waiter.reject(new Error(message.error));
        else waiter.resolve(message.result);
      });
    }
  }

  static async start(count: number): Promise<LoadProcesses> {
    const children = await Promise.all(
      Array.from({ length: count }, () => {
        const child = fork(fileURLToPath(new URL('./fanout-clients.ts', import.meta.url)), [], {
          cwd: root,
          execArgv: ['--import=tsx'],
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        });
        return new Promise<ChildProcess>((resolve, reject) => {
          child.once('message', () => resolve(child));
          child.once('exit', (code) => reject(new Error(`load process exited with ${code}`)));
        });
      }),
    );
    return new LoadProcesses(children);
  }

  private request<T>(index: number, request: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`load process ${index}: no answer to ${String(request['cmd'])} within ${requestTimeoutMs} ms`));
      }, requestTimeoutMs);
      this.waiting.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.children[index]!.send({ id, ...request });
    });
  }

  private all<T>(request: Record<string, unknown>): Promise<T[]> {
    return Promise.all(this.children.map((_, index) => this.request<T>(index, request)));
  }

  /** Spreads `subscribers` evenly over the processes (round-robin over the target's nodes) and puts a
   * publisher, on the target's first node, in each of the first `publishers` processes. */
  async open(target: TargetSpec, subscribers: number, publishers: number): Promise<void> {
    const count = this.children.length;
    let offset = 0;
    const opened = await Promise.all(
      this.children.map((_, index) => {
        const share = Math.floor(subscribers / count) + (index < subscribers % count ? 1 : 0);
        const request: OpenRequest = { target, subscribers: share, offset, publisher: index < publishers };
        offset += share;
        return this.request<{ subscribed: number }>(index, { cmd: 'open', ...request });
      }),
    );
    const subscribed = opened.reduce((sum, { subscribed }) => sum + subscribed, 0);
    if (subscribed !== subscribers) throw new Error(`${target.name}: ${subscribed} of ${subscribers} subscribed`);
    this.subscribers = subscribers;
    this.publishers = publishers;
  }

  /** Publishes one message at a time until every subscriber has received one: subscriptions that travel
   * (to Redis, along NATS routes) are in place before anything is timed. */
  async warm(name: string): Promise<void> {
    let reached: number[] = [];
    for (let attempt = 0; attempt < 200; attempt++) {
      await this.request(0, { cmd: 'one' });
      await sleep(50);
      reached = await this.all<number>({ cmd: 'reached' });
      if (reached.reduce((sum, count) => sum + count, 0) === this.subscribers) return;
    }
    throw new Error(`${name}: not every subscriber received the warm-up messages (each process: ${reached.join(', ')})`);
  }

  /** Publishes `rate` messages per second (shared by the publishers) for `seconds`, then waits for the
   * deliveries to drain, and reports the step. `serverCpu` reads the servers' CPU seconds so far. */
  async step(rate: number, seconds: number, serverCpu: () => number): Promise<Step> {
    const startAt = now() + RUN_LEAD_MS;
    const endAt = startAt + seconds * 1000;
    const clientCpu = (): number => this.children.reduce((sum, child) => sum + cpuSeconds(child.pid!), 0);
    const runs = this.children.map((_, index) => {
      const run: RunRequest = { rate: index < this.publishers ? rate / this.publishers : 0, startAt, endAt };
      return this.request<{ sent: number; skipped: number }>(index, { cmd: 'run', ...run });
    });
    await sleep(startAt - now());
    const server0 = serverCpu();
    const client0 = clientCpu();
    await sleep(endAt - now());
    const serverCpuSeconds = serverCpu() - server0;
    const clientCpuSeconds = clientCpu() - client0;
    const published = await Promise.all(runs);
    const sent = published.reduce((sum, run) => sum + run.sent, 0);
    const skipped = published.reduce((sum, run) => sum + run.skipped, 0);
    const expected = sent * this.subscribers;

    let last = -1;
    let quietSince = now();
    for (const drainEnd = now() + DRAIN_LIMIT_MS; now() < drainEnd; await sleep(100)) {
      const count = (await this.all<number>({ cmd: 'count' })).reduce((sum, part) => sum + part, 0);
      if (count >= expected) break;
      if (count !== last) quietSince = now();
      else if (now() - quietSince > QUIET_MS) break;
      last = count;
    }
    const stats = await this.all<ClientStats>({ cmd: 'stats' });
    const histograms = stats.map((part) => part.histogram);
    const inWindow = stats.reduce((sum, part) => sum + part.inWindow, 0);
    return {
      rate,
      sent,
      skipped,
      deliveredPerSecond: inWindow / seconds,
      offeredPerSecond: expected / seconds,
      delivered: stats.reduce((sum, part) => sum + part.total, 0),
      expected,
      frames: stats.reduce((sum, part) => sum + part.frames, 0),
      reads: stats.reduce((sum, part) => sum + part.reads, 0),
      p50: mergedPercentile(histograms, 50),
      p99: mergedPercentile(histograms, 99),
      serverCpuSeconds,
      clientCpuSeconds,
      seconds,
      closed: stats.reduce((sum, part) => sum + part.closed, 0),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.children.map((child) => new Promise((resolve) => {
      child.once('exit', resolve);
      child.send({ id: this.nextId++, cmd: 'close' });
    })));
  }
}
