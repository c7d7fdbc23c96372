// Memory per idle connection on the server side, each server in its own process so the clients' memory is
// not counted: our WebSocket engine against ws, and our broker (each connection subscribed to a topic)
// against the minimal broker on ws.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket as WsClient } from 'ws';
import type { Target } from './fanout-load.js';
import type { BenchResult } from './harness.js';
import { switchboardTarget, wsBrokerTarget } from './targets.js';

const CONNECTIONS = 2000;

interface Usage {
  connections: number;
  heapUsed: number;
  external: number;
  rss: number;
}

type ServerKind = 'ours' | 'ws' | 'broker' | 'ws-broker';

export async function benchMemory(): Promise<BenchResult> {
  const engine = await compare('ours', 'ws', 'ws', undefined);
  const broker = await compare('broker', 'ws-broker', 'ws broker', (port, kind) =>
    kind === 'broker' ? switchboardTarget('switchboard', [port]) : wsBrokerTarget('ws broker', [port]),
  );
  return {
    name: `server memory per idle connection, ${CONNECTIONS} connections (lower ratio is better for us)`,
    lines: [
      ...engine.map((line) => `engine: ${line}`),
      ...broker.map((line) => `broker, subscribed: ${line}`),
    ],
  };
}

async function compare(ours: ServerKind, theirs: ServerKind, theirsName: string, target: ((port: number, kind: ServerKind) => Target) | undefined): Promise<string[]> {
  const a = await measure(ours, target);
  const b = await measure(theirs, target);
  const line = (label: string, pick: (u: Usage) => number): string => {
    const perA = pick(a) / CONNECTIONS;
    const perB = pick(b) / CONNECTIONS;
    return `${label.padEnd(34)} ours ${(perA / 1024).toFixed(2).padStart(8)} KiB   ${theirsName} ${(perB / 1024).toFixed(2).padStart(8)} KiB   ratio ${(perA / perB).toFixed(2)}x`;
  };
  return [line('JS heap + external per connection', (u) => u.heapUsed + u.external), line('RSS per connection', (u) => u.rss)];
}

async function measure(kind: ServerKind, target: ((port: number, kind: ServerKind) => Target) | undefined): Promise<Usage> {
  const script = fileURLToPath(new URL('./servers/idle-server.ts', import.meta.url));
  const child = fork(script, [kind], {
    execArgv: ['--conditions=@switchboard/source', '--import=tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { port } = (await nextMessage(child)) as { port: number };
    const spec = target?.(port, kind);
    const before = await ask(child);
    const clients: WsClient[] = [];
    for (let i = 0; i < CONNECTIONS; i += 100) {
      const batch = Array.from({ length: Math.min(100, CONNECTIONS - i) }, () => open(port, spec));
      clients.push(...(await Promise.all(batch)));
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

/** A connection, subscribed when the server is a broker. */
async function open(port: number, target: Target | undefined): Promise<WsClient> {
  const client = new WsClient(target?.urls[0] ?? `ws://127.0.0.1:${port}/`, target?.protocols ?? [], { perMessageDeflate: false });
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  if (target === undefined) return client;
  await new Promise<void>((resolve) => {
    client.on('message', (data) => {
      if (target.isSubscribed(data.toString())) resolve();
    });
    client.send(target.subscribe);
  });
  return client;
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
