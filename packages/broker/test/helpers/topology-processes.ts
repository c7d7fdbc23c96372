import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { eventually } from './start-broker.js';

/**
 * The docker-compose topology as plain processes (issue 4): `switchboard` CLI processes with REDIS_URL, and
 * Debian's nginx running deploy/nginx/switchboard.conf, the file compose mounts. Only that file's `listen 80;`
 * line and its `server broker-N:8080` lines are rewritten to free loopback ports, inside a main config that
 * keeps nginx's pid, logs and temp files in a private directory. Every process is killed when its test ends.
 */

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const brokerRoot = fileURLToPath(new URL('../..', import.meta.url));
const nginxConf = join(repoRoot, 'deploy/nginx/switchboard.conf');
const nginxBinary = '/usr/sbin/nginx';
export const adminToken = 'topology-admin-token-at-least-32-bytes';

/** A free loopback port (listen on 0, close, hand the port on). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Process {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<void>;
}

export function run(t: Test, command: string, args: readonly string[], options: { cwd: string; env?: Record<string, string> }): Process {
  const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (output += `spawn failed: ${error.message}`));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, output: () => output, exited };
}

export interface BrokerProcess extends Process {
  readonly name: string;
  readonly port: number;
}

/**
 * The `switchboard` CLI from source, as its own process (SIGKILL reaches the broker itself, not a wrapper).
 * `redisUrl` undefined: no REDIS_URL, for a Redis given in `env` (REDIS_SENTINELS, REDIS_CLUSTER_NODES).
 */
export async function startBrokerProcess(t: Test, name: string, redisUrl: string | undefined, port?: number, env: Record<string, string> = {}): Promise<BrokerProcess> {
  port ??= await freePort();
  const redis = redisUrl === undefined ? {} : { REDIS_URL: redisUrl };
  const broker = run(t, process.execPath, ['--conditions=@switchboard/source', '--import=tsx', 'src/cli.ts'], {
    cwd: brokerRoot,
    env: { HOST: '127.0.0.1', PORT: String(port), NODE_NAME: name, ...redis, LOG_LEVEL: 'info', PUBLISH_RATE: '0', ADMIN_TOKEN: adminToken, ...env },
  });
  return { ...broker, name, port };
}

export async function waitListening(broker: BrokerProcess): Promise<void> {
  await eventually(
    () => broker.output().includes('switchboard broker listening') || broker.child.exitCode !== null,
    60_000,
    `${broker.name} listening`,
  );
  if (broker.child.exitCode !== null) throw new Error(`${broker.name} exited: ${broker.output()}`);
}

/** deploy/nginx/switchboard.conf with its listen and upstream lines pointed at loopback ports. */
function rewriteNginxConf(source: string, listenPort: number, brokerPorts: readonly number[]): string {
  let servers = 0;
  const rewritten = source
    .replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${listenPort};`)
    .replace(/^(\s*)server broker-(\d+):8080\b/gm, (_line, indent: string, index: string) => {
      servers++;
      const port = brokerPorts[Number(index) - 1];
      if (port === undefined) throw new Error(`no broker for upstream broker-${index}`);
      return `${indent}server 127.0.0.1:${port}`;
    });
  if (!rewritten.includes(`listen 127.0.0.1:${listenPort};`) || servers !== brokerPorts.length) {
    throw new Error(`${nginxConf} no longer has one "listen 80;" line and ${brokerPorts.length} "server broker-N:8080" lines`);
  }
  return rewritten;
}

export async function startNginx(t: Test, brokerPorts: readonly number[]): Promise<{ port: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-nginx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const port = await freePort();
  writeFileSync(join(dir, 'switchboard.conf'), rewriteNginxConf(readFileSync(nginxConf, 'utf8'), port, brokerPorts));
  // The compose image's own nginx.conf plays this part there: it includes conf.d/*.conf inside http {}.
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      // One worker: its connection counts alone decide where each connection goes (least_conn).
      'worker_processes 1;',
      // As root, nginx would hand its workers to `nobody`, who cannot use the private 0700 temp directories.
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      'events { worker_connections 256; }',
      'http {',
      `  access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind}_temp;`),
      `  include ${dir}/switchboard.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  const nginx = run(t, nginxBinary, ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'], { cwd: dir });
  t.teardown(async () => {
    if (nginx.child.exitCode === null && nginx.child.signalCode === null) {
      nginx.child.kill('SIGQUIT');
      await Promise.race([nginx.exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    }
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (nginx.child.exitCode !== null) throw new Error(`nginx exited: ${nginx.output()}\n${readErrorLog(dir)}`);
    const healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return { port, dir };
    if (Date.now() > deadline) throw new Error(`nginx did not proxy /healthz within 20 s:\n${readErrorLog(dir)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function readErrorLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no error log)';
  }
}
