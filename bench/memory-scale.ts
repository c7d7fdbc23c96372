// `pnpm bench memory-scale`: many idle subscribed connections on one server process, our broker beside the
// minimal broker on `ws` (`servers/ws-broker.ts`) in the same run. Per server: connections accepted per
// second, the handshakes' times as the clients saw them (to the `101`, and to the TCP connection alone, which
// shows when the machine rather than the server is slow), the server's CPU time per accept, RSS and JS heap
// per connection after a full GC, and one publish broadcast to all of them (time from the publish to the
// last delivery).
//
// The servers and the client processes are started through `sh -c 'ulimit -n ...'`: the soft limit on open
// files goes to 1,048,576 where the hard limit allows, else up to the hard limit (raising the hard limit
// itself needs CAP_SYS_RESOURCE). A server holds at most its limit less a margin, and says why it stopped.
// The clients run in SCALE_CLIENT_PROCESSES processes (default 4; more when the connections would not fit
// in that many under the same limit or in 28,000 ports each), each from its own loopback source address
// (127.A.B.2, 127.A.B.3, ...), so that each has its own ~28,000 ephemeral ports towards the server. A and B
// are new for each server measured: the clients' closed connections stay in TIME_WAIT for a minute, and a
// `bind()` to an address crowded with them searches its ports for a free one, which slowed the next
// server's handshakes (its TCP connects) several times over.
//   SCALE_CONNECTIONS=100000 pnpm bench memory-scale
//   SCALE_CONNECTIONS=5000 SCALE_SNAPSHOT=/tmp pnpm bench memory-scale   (also writes heap snapshots)
//   SCALE_PROFILE=/tmp pnpm bench memory-scale   (a CPU profile of each server while it accepts)
//   SCALE_SERVER_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' pnpm bench memory-scale   (Node flags for the servers)
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket as WsClient } from 'ws';
import type { Target } from './fanout-load.js';
import { type BenchResult, percentile } from './harness.js';
import type { Plan } from './scale-clients.js';
import { switchboardTarget, wsBrokerTarget } from './targets.js';

const CONNECTIONS = Number(process.env.SCALE_CONNECTIONS ?? 18_000);
const CLIENT_PROCESSES = Number(process.env.SCALE_CLIENT_PROCESSES ?? 4);
/** Connections one client process opens at most: its own open-file limit, and the ephemeral ports of its
 * source address towards one server port (Linux's default range, 32768-60999, less a margin). */
const PORTS_PER_ADDRESS = 28_000;
/** Handshakes in flight per client process: all of them together stay under the listen backlog (511), whose
 * overflow would time SYN retransmissions (1 s, 3 s) instead of the server. */
const WINDOW = Number(process.env.SCALE_WINDOW ?? 32);
/** What a server keeps of its open-file limit for itself (listening socket, IPC, libuv, the publisher). */
const FD_MARGIN = 64;
const WANTED_OPEN_FILES = 1_048_576;
/** Longest wait for any one phase (open, subscribe, broadcast). */
const PHASE_TIMEOUT_MS = 300_000;

const root = fileURLToPath(new URL('..', import.meta.url));
const now = (): number => performance.timeOrigin + performance.now();

interface Usage {
  connections: number;
  heapUsed: number;
  external: number;
  rss: number;
  maxOpenFiles: number;
}

interface ClientReport {
  opened: number;
  failed: number;
  subscribed: number;
  delivered: number;
  lastAt: number;
  finishedAt: number;
  /** After `open` only: each handshake's ms from `connect()` to the `101`, and to the TCP connection. */
  handshakeMs?: number[];
  connectMs?: number[];
}

interface Figures {
  held: number;
  maxOpenFiles: number;
  /** Why fewer than SCALE_CONNECTIONS are held, or 'all asked'. */
  stoppedBecause: string;
  clientProcesses: number;
  acceptsPerSecond: number;
  acceptCpuMicros: number;
  /** Handshake times as the clients saw them, ms: p50 and p99 to the `101`, p50 to the TCP connection. */
  handshake: { p50: number; p99: number; connectP50: number };
  rss: number;
  heap: number;
  heapAndExternal: number;
  broadcastMs: number;
  delivered: number;
}

export async function benchMemoryScale(): Promise<BenchResult> {
  const ours = await measure('broker', (port) => switchboardTarget('switchboard', [port]));
  // SCALE_ONLY=broker: our broker alone, for quick before/after comparisons of its own figures.
  const theirs = process.env.SCALE_ONLY === 'broker' ? ours : await measure('ws-broker', (port) => wsBrokerTarget('ws broker', [port]));
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(2).padStart(8)} KiB`;
  const ms = (value: number): string => `${value.toFixed(1).padStart(9)} ms`;
  const row = (label: string, a: string, b: string, ratio: number): string =>
    `${label.padEnd(36)} ours ${a}   ws broker ${b}   ratio ${ratio.toFixed(2)}x`;
  return {
    name: `idle subscribed connections on one node, ${CONNECTIONS} asked, ${ours.clientProcesses} client processes (lower ratio is better for us, except accepts/s)`,
    lines: [
      `connections held (open-file limit)    ours ${ours.held} (${ours.maxOpenFiles})   ws broker ${theirs.held} (${theirs.maxOpenFiles})`,
      `stopped because                       ours: ${ours.stoppedBecause}   ws broker: ${theirs.stoppedBecause}`,
      row('RSS per connection', kib(ours.rss), kib(theirs.rss), ours.rss / theirs.rss),
      row('JS heap per connection after GC', kib(ours.heap), kib(theirs.heap), ours.heap / theirs.heap),
      row('JS heap + external per connection', kib(ours.heapAndExternal), kib(theirs.heapAndExternal), ours.heapAndExternal / theirs.heapAndExternal),
      row('connections accepted per second', ours.acceptsPerSecond.toFixed(0).padStart(12), theirs.acceptsPerSecond.toFixed(0).padStart(12), ours.acceptsPerSecond / theirs.acceptsPerSecond),
      row('handshake p50, client side', ms(ours.handshake.p50), ms(theirs.handshake.p50), ours.handshake.p50 / theirs.handshake.p50),
      row('handshake p99, client side', ms(ours.handshake.p99), ms(theirs.handshake.p99), ours.handshake.p99 / theirs.handshake.p99),
      row('TCP connect p50, client side', ms(ours.handshake.connectP50), ms(theirs.handshake.connectP50), ours.handshake.connectP50 / theirs.handshake.connectP50),
      row('server CPU per accepted connection', `${ours.acceptCpuMicros.toFixed(0).padStart(9)} µs`, `${theirs.acceptCpuMicros.toFixed(0).padStart(9)} µs`, ours.acceptCpuMicros / theirs.acceptCpuMicros),
      row('broadcast: publish to last delivery', `${ours.broadcastMs.toFixed(0).padStart(9)} ms`, `${theirs.broadcastMs.toFixed(0).padStart(9)} ms`, ours.broadcastMs / theirs.broadcastMs),
      `broadcast deliveries                   ours ${ours.delivered}   ws broker ${theirs.delivered}`,
    ],
  };
}

/** Starts `node args` through a shell that raises the open-file limit first; IPC on fd 3 survives the exec. */
function spawnRaised(args: string[]): ChildProcess {
  const raise = `ulimit -n ${WANTED_OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`;
  return spawn('/bin/sh', ['-c', raise, process.execPath, ...args], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

async function measure(kind: 'broker' | 'ws-broker', targetFor: (port: number) => Target): Promise<Figures> {
  const serverFlags = (process.env.SCALE_SERVER_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
  const server = spawnRaised([...serverFlags, '--conditions=@switchboard/source', '--import=tsx', '--expose-gc', fileURLToPath(new URL('./servers/idle-server.ts', import.meta.url)), kind]);
  const clients: ChildProcess[] = [];
  let publisher: WsClient | undefined;
  try {
    const { port } = (await nextMessage(server, 'server start')) as { port: number };
    const target = targetFor(port);
    const before = await ask(server);
    // SCALE_SNAPSHOT=dir: heap snapshots of each server before the clients come and holding its idle
    // connections, to be compared by constructor (docs/benchmarks.md).
    const snapshots = process.env.SCALE_SNAPSHOT;
    if (snapshots !== undefined) await nextMessage(server, 'snapshot', `snapshot ${snapshots}/${kind}-0.heapsnapshot`);
    const held = Math.min(CONNECTIONS, before.maxOpenFiles - FD_MARGIN);
    // The client processes share the machine's limit (each has the same open-file limit as the server):
    // as many as it takes to open `held` connections, at least SCALE_CLIENT_PROCESSES.
    const perClient = Math.min(before.maxOpenFiles - FD_MARGIN, PORTS_PER_ADDRESS);
    const clientProcesses = Math.max(CLIENT_PROCESSES, Math.ceil(held / perClient));
    for (let i = 0; i < clientProcesses; i++) clients.push(spawnRaised(['--import=tsx', fileURLToPath(new URL('./scale-clients.ts', import.meta.url))]));
    await Promise.all(clients.map((client) => nextMessage(client, 'client start')));

    const url = new URL(target.urls[0]!);
    const sourceNetwork = freshLoopbackNetwork();
    const profiles = process.env.SCALE_PROFILE;
    if (profiles !== undefined) await nextMessage(server, 'profile', 'profile start');
    const cpuBefore = await askCpu(server);
    const started = now();
    const opened = await Promise.all(
      clients.map((client, i) => {
        const count = Math.floor(held / clientProcesses) + (i < held % clientProcesses ? 1 : 0);
        const plan: Plan = {
          host: url.hostname,
          port: Number(url.port),
          path: url.pathname,
          protocol: target.protocols[0],
          localAddress: `${sourceNetwork}.${2 + i}`,
          count,
          window: WINDOW,
          subscribe: target.subscribe,
          isSubscribed: kind === 'broker' ? '{"op":"subscribed"' : '{"op":"subscribed"}',
        };
        return request(client, { open: plan }, 'open');
      }),
    );
    const openedCount = sum(opened, (r) => r.opened);
    const failedCount = sum(opened, (r) => r.failed);
    const acceptsPerSecond = openedCount / ((Math.max(...opened.map((r) => r.finishedAt)) - started) / 1000);
    // The server's own CPU time per accept: unlike the rate, not moved by what else runs on the machine.
    const acceptCpuMicros = ((await askCpu(server)) - cpuBefore) / openedCount;
    const handshakeMs = opened.flatMap((r) => r.handshakeMs ?? []).sort((a, b) => a - b);
    const connectMs = opened.flatMap((r) => r.connectMs ?? []).sort((a, b) => a - b);
    if (profiles !== undefined) await nextMessage(server, 'profile', `profile stop ${profiles}/${kind}-accepts.cpuprofile`);
    const subscribed = await Promise.all(clients.map((client) => request(client, 'subscribe', 'subscribe')));
    const subscribedCount = sum(subscribed, (r) => r.subscribed);
    const after = await ask(server);
    if (after.connections - before.connections !== subscribedCount) {
      throw new Error(`${kind}: the server holds ${after.connections - before.connections} connections, ${subscribedCount} subscribed`);
    }

    if (snapshots !== undefined) await nextMessage(server, 'snapshot', `snapshot ${snapshots}/${kind}-${subscribedCount}.heapsnapshot`);

    publisher = await openPublisher(target);
    const mark = `broadcast-${process.pid}-${Date.now()}`;
    const deliveries = clients.map((client) => request(client, { expect: mark }, 'broadcast'));
    const publishedAt = now();
    publisher.send(target.publish(JSON.stringify(mark)));
    const delivered = await Promise.all(deliveries);

    const per = (pick: (u: Usage) => number): number => (pick(after) - pick(before)) / subscribedCount;
    return {
      held: subscribedCount,
      maxOpenFiles: before.maxOpenFiles,
      stoppedBecause: stopReason(subscribedCount, held, failedCount, before.maxOpenFiles),
      clientProcesses,
      acceptsPerSecond,
      acceptCpuMicros,
      handshake: { p50: percentile(handshakeMs, 50), p99: percentile(handshakeMs, 99), connectP50: percentile(connectMs, 50) },
      rss: per((u) => u.rss),
      heap: per((u) => u.heapUsed),
      heapAndExternal: per((u) => u.heapUsed + u.external),
      broadcastMs: Math.max(...delivered.map((r) => r.lastAt)) - publishedAt,
      delivered: sum(delivered, (r) => r.delivered),
    };
  } finally {
    publisher?.terminate();
    for (const client of clients) if (client.connected) client.send('close');
    server.kill();
    await Promise.all([server, ...clients].map((child) => (child.exitCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
  }
}

/** A /24 of 127.0.0.0/8 (never 127.0.0) that no earlier measurement is likely to have used. */
function freshLoopbackNetwork(): string {
  return `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}`;
}

/** Why a server holds `reached` of the SCALE_CONNECTIONS asked: all of them, its open-file limit, or handshakes that failed. */
function stopReason(reached: number, planned: number, failed: number, maxOpenFiles: number): string {
  if (reached >= CONNECTIONS) return 'all asked';
  const parts: string[] = [];
  if (planned < CONNECTIONS) {
    parts.push(`open-file limit ${maxOpenFiles} (the hard limit; raising it needs CAP_SYS_RESOURCE)`);
  }
  if (failed > 0) parts.push(`${failed} handshakes failed`);
  if (reached < planned - failed) parts.push(`${planned - failed - reached} opened but not subscribed`);
  return parts.join(', ');
}

function sum<T>(items: T[], pick: (item: T) => number): number {
  return items.reduce((total, item) => total + pick(item), 0);
}

async function openPublisher(target: Target): Promise<WsClient> {
  const socket = new WsClient(target.urls[0]!, target.protocols, { perMessageDeflate: false });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return socket;
}

function nextMessage(child: ChildProcess, what: string, ...send: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${PHASE_TIMEOUT_MS} ms`)), PHASE_TIMEOUT_MS);
    const exit = (code: number | null): void => reject(new Error(`${what}: process exited with ${code}`));
    child.once('exit', exit);
    child.once('message', (message) => {
      clearTimeout(timer);
      child.off('exit', exit);
      resolve(message);
    });
    for (const message of send) child.send(message as string);
  });
}

function request(client: ChildProcess, message: unknown, what: string): Promise<ClientReport> {
  return nextMessage(client, what, message) as Promise<ClientReport>;
}

async function askCpu(server: ChildProcess): Promise<number> {
  return ((await nextMessage(server, 'cpu', 'cpu')) as { cpuMicros: number }).cpuMicros;
}

async function ask(server: ChildProcess): Promise<Usage> {
  return (await nextMessage(server, 'measure', 'measure')) as Usage;
}
