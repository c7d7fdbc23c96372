import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root and the broker's CLI, started the way the README says. */
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = fileURLToPath(new URL('../../../broker/src/cli.ts', import.meta.url));

/** A real broker process (`switchboard` CLI) that a test can kill and restart on the same port. */
export interface BrokerProcess {
  readonly port: number;
  /** `ws://127.0.0.1:<port>/` */
  readonly url: string;
  /** Everything the broker printed so far (pino JSON lines), for failure messages. */
  output(): string;
  /** SIGKILL: no graceful shutdown, clients see their TCP connections drop (1006). */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown (clients get 4100). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same flags. */
  restart(): Promise<void>;
}

/** Picks a free TCP port on 127.0.0.1 (the broker must be restartable on the same one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts `switchboard --port <free port> ...flags` and resolves once it logs that it listens. Fails loudly
 * (with its output) if it exits or stays silent. The caller registers `stop` in a teardown.
 */
export async function startBroker(flags: readonly string[] = []): Promise<BrokerProcess> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';
  // No drain or spread on SIGTERM unless a test asks: the suite should not wait out production deadlines.
  // The readiness check reads the info-level "listening" line, so the log level stays at info.
  const defaults = ['--shutdown-drain', '0', '--shutdown-spread', '0'];
  const args = ['--conditions=@switchboard/source', '--import=tsx', cli, ...defaults, ...flags, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'info'];

  const launch = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const started = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      child = started;
      let ready = false;
      const timer = setTimeout(() => {
        started.kill('SIGKILL');
        reject(new Error(`the broker did not start within 30 s; output:\n${log}`));
      }, 30_000);
      const onData = (chunk: Buffer): void => {
        log += chunk.toString('utf8');
        if (!ready && log.includes('switchboard broker listening')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      started.stdout!.on('data', onData);
      started.stderr!.on('data', onData);
      started.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`the broker exited (${code ?? signal}) before listening; output:\n${log}`));
      });
    });

  const end = (signal: NodeJS.Signals): Promise<void> =>
    new Promise((resolve) => {
      const running = child;
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return resolve();
      running.once('exit', () => resolve());
      running.kill(signal);
      if (signal !== 'SIGKILL') setTimeout(() => running.kill('SIGKILL'), 10_000).unref();
    });

  await launch();
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    output: () => log,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
    restart: async () => {
      await end('SIGKILL');
      await launch();
    },
  };
}
