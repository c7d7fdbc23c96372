// Child processes for the benchmarks: servers on free loopback ports, each in its own process so that the
// clients' work is not counted against them.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The broker's CLI as the package exports it (its source, under the workspace's source condition). */
const brokerCli = fileURLToPath(import.meta.resolve('@switchboard/broker/cli'));
/** Longest wait for a started server to be ready. */
const startTimeoutMs = 30_000;

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Our broker's command line, run from source, with extra flags appended. */
export function brokerArgs(port: number, ...flags: string[]): string[] {
  return brokerArgsOf(brokerCli, port, flags);
}

/** The same for the broker CLI at `cli` (another checkout's, to measure before / after). */
function brokerArgsOf(cli: string, port: number, flags: readonly string[]): string[] {
  return [
    ...(process.env.FANOUT_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/bprof'] : []),
    '--conditions=@switchboard/source', '--import=tsx', cli,
    '--port', String(port), '--publish-rate', '0', '--log-level', 'warn', ...flags,
  ];
}

/** Starts `node args` from the repository root and resolves once `ready()` says so. */
export async function startNode(args: string[], ready: () => Promise<boolean>): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    if (await ready()) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${args.join(' ')} was not ready within ${startTimeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A server process listening on a free loopback port. */
export interface ServerProcess {
  readonly port: number;
  readonly child: ChildProcess;
}

/** Starts `node args(port)` on a free port, as `startNode`, once `ready(port)` says so. */
export async function startOnFreePort(args: (port: number) => string[], ready: (port: number) => () => Promise<boolean>): Promise<ServerProcess> {
  const port = await freePort();
  return { port, child: await startNode(args(port), ready(port)) };
}

/** Our broker on a free port with `flags`, ready once its /readyz answers 200; `cli` runs another checkout's. */
export function startOurBroker(flags: readonly string[] = [], cli = brokerCli): Promise<ServerProcess> {
  return startOnFreePort((port) => brokerArgsOf(cli, port, flags), (port) => answers200(`http://127.0.0.1:${port}/readyz`));
}

/** Ready when a WebSocket handshake to `url` succeeds. */
export function acceptsWebSocket(url: string, protocols: string[] = []): () => Promise<boolean> {
  return () =>
    new Promise<boolean>((resolve) => {
      const probe = new WebSocket(url, protocols);
      probe.once('open', () => {
        probe.terminate();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
}

/** Ready when `GET url` answers 200 (our broker's /readyz, which proves its engine works). */
export function answers200(url: string): () => Promise<boolean> {
  return () =>
    new Promise<boolean>((resolve) => {
      const probe = request(url, (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      });
      probe.once('error', () => resolve(false));
      probe.end();
    });
}

/** Linux's clock ticks per second for /proc CPU times (USER_HZ, 100 on every mainstream kernel). */
const clockTicksPerSecond = 100;

/** CPU seconds (user + system) that process `pid` has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself hold spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}
