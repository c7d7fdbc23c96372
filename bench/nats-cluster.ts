// The NATS baseline: Debian's `nats-server` (apt package `nats-server`), several nodes clustered by routes,
// each with its WebSocket listener enabled (no TLS), all on free loopback ports, configured from a
// temporary directory that goes away with them.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptsWebSocket, freePort } from './processes.js';

/** Where Debian installs it; NATS_SERVER names another binary. */
const binary = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';
const startTimeoutMs = 30_000;

export interface NatsCluster {
  /** Each node's WebSocket port, in node order. */
  wsPorts: number[];
  pids: number[];
  stop(): void;
}

/** Throws, naming the package, unless the nats-server binary is there: a suite checks before starting anything. */
export function requireNatsServer(): void {
  if (!existsSync(binary)) {
    throw new Error(`nats-server not found at ${binary}: install Debian's package (apt-get install nats-server) or set NATS_SERVER`);
  }
}

export async function startNatsCluster(nodes: number): Promise<NatsCluster> {
  requireNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'bench-nats-'));
  const ports = [];
  for (let node = 0; node < nodes; node++) {
    ports.push({ client: await freePort(), cluster: await freePort(), http: await freePort(), ws: await freePort() });
  }
  const children: ChildProcess[] = [];
  const stop = (): void => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [node, port] of ports.entries()) {
      const routes = ports.filter((_, other) => other !== node).map((other) => `"nats-route://127.0.0.1:${other.cluster}"`);
      const config = join(dir, `node${node}.conf`);
      writeFileSync(
        config,
        [
          `server_name: bench${node}`,
          `listen: 127.0.0.1:${port.client}`,
          `http: 127.0.0.1:${port.http}`,
          `cluster { name: bench, listen: 127.0.0.1:${port.cluster}, routes: [${routes.join(', ')}] }`,
          `websocket { host: 127.0.0.1, port: ${port.ws}, no_tls: true }`,
          '',
        ].join('\n'),
      );
      // Its log goes to a file, read back only if it fails to start.
      const child = spawn(binary, ['-c', config, '-l', join(dir, `node${node}.log`)], { stdio: 'ignore' });
      children.push(child);
    }
    const deadline = Date.now() + startTimeoutMs;
    for (const [node, port] of ports.entries()) {
      while (!((await routed(port.http, nodes - 1)) && (await acceptsWebSocket(`ws://127.0.0.1:${port.ws}/`)()))) {
        const child = children[node]!;
        if (child.exitCode !== null) throw new Error(`nats-server node ${node} exited with ${child.exitCode}:\n${log(dir, node)}`);
        if (Date.now() > deadline) throw new Error(`nats-server node ${node} was not routed and listening within ${startTimeoutMs} ms:\n${log(dir, node)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } catch (error) {
    stop();
    throw error;
  }
  return { wsPorts: ports.map((port) => port.ws), pids: children.map((child) => child.pid!), stop };
}

function log(dir: string, node: number): string {
  try {
    return readFileSync(join(dir, `node${node}.log`), 'utf8');
  } catch {
    return '(no log)';
  }
}

/** Whether the node's monitoring endpoint reports at least `routes` routes to its peers. */
async function routed(httpPort: number, routes: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${httpPort}/routez`);
    const body = (await response.json()) as { num_routes: number };
    return body.num_routes >= routes;
  } catch {
    return false;
  }
}
