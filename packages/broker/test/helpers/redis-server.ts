import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

/**
 * Private redis-server processes for tests: each on a free loopback port with its own directory and no
 * persistence, never the shared Redis on 6379. Starting fails loudly (throws, with the server's log) when
 * redis-server is missing or does not answer PING: a Redis test is never skipped.
 */

const host = '127.0.0.1';
/** Longest wait for a started server to answer PING, or for a cluster to report `cluster_state:ok`. */
const startTimeoutMs = 10_000;
const execFileAsync = promisify(execFile);

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  readonly args?: readonly string[];
  /** @default a free port (and, with `--cluster-enabled yes`, one whose bus port, +10000, is free too). */
  readonly port?: number;
  /**
   * Runs a Sentinel (`redis-server <conf> --sentinel`) instead of a server, monitoring the master on
   * `masterPort` as `name` with quorum 1; fast timings so that a test's failover takes seconds.
   */
  readonly sentinel?: { readonly name: string; readonly masterPort: number; readonly downAfterMs: number; readonly failoverTimeoutMs: number };
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The server's working directory (its log, and `nodes.conf` in cluster mode). */
  readonly dir: string;
  /** Whether the process is running. */
  readonly running: boolean;
  /** SIGKILL, as a crash would: clients see the connection reset, nothing is saved. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory (kills it first if it is running). */
  restart(): Promise<void>;
  /** Sends `signal` to the running server: SIGSTOP freezes it (a hung Redis, connections stay open), SIGCONT thaws it. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void;
  /** Runs `redis-cli -p <port> ...args` and returns its stdout, trimmed. */
  cli(...args: string[]): Promise<string>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

/** The shared Redis of the machine: never used, even if it happens to be free. */
const sharedRedisPort = 6379;
const dirPrefix = 'switchboard-redis-';

const liveProcesses = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveProcesses) child.kill('SIGKILL');
});
sweepOrphans();

/**
 * A test process killed by a signal cannot stop its servers. Each server's directory records its owner's
 * pid and the server's pid; servers whose owner is gone are killed here, and their directories removed.
 */
function sweepOrphans(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(dirPrefix)) continue;
    const dir = join(tmpdir(), name);
    const owner = Number(readOptional(join(dir, 'owner.pid')));
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
    const server = Number(readOptional(join(dir, 'redis.pid')));
    if (Number.isInteger(server) && server > 0 && readOptional(`/proc/${server}/cmdline`).includes('redis-server')) {
      try {
        process.kill(server, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const args = options.args ?? [];
  const clusterEnabled = args.some((arg, index) => arg === '--cluster-enabled' && args[index + 1] === 'yes');
  const port = options.port ?? (await freePort(clusterEnabled));
  if (port === sharedRedisPort) throw new RangeError('port 6379 belongs to the shared Redis: tests never use it');
  const dir = mkdtempSync(join(tmpdir(), `${dirPrefix}${port}-`));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  let child: ChildProcess | undefined;

  const { sentinel } = options;
  if (sentinel !== undefined) {
    // Sentinel keeps its state in its config file (it rewrites it), so it needs one of its own.
    writeFileSync(
      join(dir, 'sentinel.conf'),
      [
        `sentinel monitor ${sentinel.name} ${host} ${sentinel.masterPort} 1`,
        `sentinel down-after-milliseconds ${sentinel.name} ${sentinel.downAfterMs}`,
        `sentinel failover-timeout ${sentinel.name} ${sentinel.failoverTimeoutMs}`,
        '',
      ].join('\n'),
    );
  }

  const launch = async (): Promise<void> => {
    const started = spawn(
      'redis-server',
      [
        ...(sentinel === undefined ? ['--save', '', '--appendonly', 'no'] : [join(dir, 'sentinel.conf'), '--sentinel']),
        '--port', String(port),
        '--bind', host,
        '--dir', dir,
        '--daemonize', 'no',
        '--logfile', 'redis.log',
        '--pidfile', join(dir, 'redis.pid'),
        ...args,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let spawnError: Error | undefined;
    let stderr = '';
    started.on('error', (error) => void (spawnError = error));
    started.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    liveProcesses.add(started);
    started.once('exit', () => liveProcesses.delete(started));
    child = started;
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (spawnError !== undefined) throw new Error(`redis-server could not be started: ${spawnError.message}`, { cause: spawnError });
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(`redis-server on port ${port} exited at start (${started.exitCode ?? started.signalCode}):\n${stderr}${readLog(dir)}`);
      }
      if (await answersPing(port)) return;
      if (Date.now() > deadline) {
        started.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} did not answer PING within ${startTimeoutMs} ms:\n${readLog(dir)}`);
      }
      await sleep(20);
    }
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    await exited;
  };

  await launch();
  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    kill: () => terminate('SIGKILL'),
    stop: () => terminate('SIGTERM'),
    restart: async () => {
      await terminate('SIGKILL');
      await launch();
    },
    signal: (signal) => {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server on port ${port} is not running`);
      child.kill(signal);
    },
    cli: async (...cliArgs) => {
      const { stdout } = await execFileAsync('redis-cli', ['-h', host, '-p', String(port), ...cliArgs], { timeout: 10_000 });
      return stdout.trim();
    },
    destroy: async () => {
      await terminate('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisClusterServers {
  readonly servers: readonly RedisServer[];
  /** Seed nodes for ioredis `Cluster`: `{ host, port }` of every master. */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** SIGKILL every node. */
  kill(): Promise<void>;
  /** Restarts every node from its `nodes.conf` (keys are lost: no persistence) and waits for `cluster_state:ok`. */
  restart(): Promise<void>;
  /** Restarts one node (after `servers[index].kill()`, say) and waits for `cluster_state:ok`. */
  restartNode(index: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` masters and no replicas, built with `redis-cli --cluster create` like an
 * operator would. A short node timeout makes a restarted cluster converge quickly.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterServers> {
  const servers: RedisServer[] = [];
  try {
    for (let index = 0; index < masters; index++) {
      servers.push(
        await startRedisServer({
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000'],
        }),
      );
    }
    await execFileAsync(
      'redis-cli',
      ['--cluster', 'create', ...servers.map((server) => `${host}:${server.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    await waitForClusterOk(servers);
  } catch (error) {
    await Promise.all(servers.map((server) => server.destroy()));
    throw error;
  }
  return {
    servers,
    nodes: servers.map((server) => ({ host, port: server.port })),
    kill: async () => {
      await Promise.all(servers.map((server) => server.kill()));
    },
    restart: async () => {
      await Promise.all(servers.map((server) => server.restart()));
      await waitForClusterOk(servers);
    },
    restartNode: async (index) => {
      const server = servers[index];
      if (server === undefined) throw new RangeError(`no cluster node ${index}`);
      await server.restart();
      await waitForClusterOk(servers);
    },
    destroy: async () => {
      await Promise.all(servers.map((server) => server.destroy()));
    },
  };
}

async function waitForClusterOk(servers: readonly RedisServer[]): Promise<void> {
  const deadline = Date.now() + startTimeoutMs * 3;
  for (;;) {
    const states = await Promise.all(servers.map((server) => server.cli('CLUSTER', 'INFO').catch(() => '')));
    if (states.every((info) => info.includes('cluster_state:ok'))) return;
    if (Date.now() > deadline) throw new Error(`redis cluster did not reach cluster_state:ok:\n${states.join('\n---\n')}`);
    await sleep(50);
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Sends an inline PING and resolves whether `+PONG` came back (never rejects). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

async function freePort(withBusPort: boolean): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0);
    if (port === undefined || port === sharedRedisPort) continue;
    // Cluster nodes also listen on port + 10000 (the cluster bus).
    if (!withBusPort || (port + 10_000 <= 65_535 && (await listenOnce(port + 10_000)) !== undefined)) return port;
  }
  throw new Error('no free loopback port found for redis-server');
}

/** Listens on `port` (0: any) on loopback and closes at once; resolves the port, or undefined if taken. */
function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}
