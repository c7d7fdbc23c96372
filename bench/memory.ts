// Memory per idle connection on the server side, ours against ws, each server in its own process so the
// clients' memory is not counted.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket as WsClient } from 'ws';
import type { BenchResult } from './harness.js';

const CONNECTIONS = 2000;

interface Usage {
  connections: number;
  heapUsed: number;
  external: number;
  rss: number;
}

export async function benchMemory(): Promise<BenchResult> {
  const ours = await measure('ours');
  const theirs = await measure('ws');
  const line = (label: string, pick: (u: Usage) => number): string => {
    const a = pick(ours) / CONNECTIONS;
    const b = pick(theirs) / CONNECTIONS;
    return `${label.padEnd(34)} ours ${(a / 1024).toFixed(2).padStart(8)} KiB   ws ${(b / 1024).toFixed(2).padStart(8)} KiB   ratio ${(a / b).toFixed(2)}x`;
  };
  return {
    name: `server memory per idle connection, ${CONNECTIONS} connections (lower ratio is better for us)`,
    lines: [line('JS heap + external per connection', (u) => u.heapUsed + u.external), line('RSS per connection', (u) => u.rss)],
  };
}

async function measure(kind: 'ours' | 'ws'): Promise<Usage> {
  const script = fileURLToPath(new URL('./servers/idle-server.ts', import.meta.url));
  const child = fork(script, [kind], {
    execArgv: ['--conditions=@switchboard/source', '--import=tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { port } = (await nextMessage(child)) as { port: number };
    const before = await ask(child);
    const clients: WsClient[] = [];
    for (let i = 0; i < CONNECTIONS; i += 100) {
      const batch = Array.from({ length: Math.min(100, CONNECTIONS - i) }, () => new WsClient(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false }));
      await Promise.all(batch.map((client) => new Promise((resolve, reject) => client.once('open', resolve).once('error', reject))));
      clients.push(...batch);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await ask(child);
    if (after.connections - before.connections !== CONNECTIONS) throw new Error(`${kind}: ${after.connections} connections held`);
    for (const client of clients) client.terminate();
    return {
      connections: CONNECTIONS,
      heapUsed: after.heapUsed - before.heapUsed,
      external: after.external - before.external,
      rss: after.rss - before.rss,
    };
  } finally {
    child.kill();
  }
}

function nextMessage(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function ask(child: ChildProcess): Promise<Usage> {
  const reply = nextMessage(child);
  child.send('measure');
  return (await reply) as Usage;
}
