// Webhooks under fan-out (issue 17, "a dead endpoint does not slow deliveries"): the same load against our
// broker three times over, in one run: without webhooks; with connection and publication events POSTed to
// a loopback backend that answers 200; and POSTed to a loopback backend that accepts and never answers,
// with a small queue so that it overflows. Each broker runs in its own process; the backends run in this
// one (a few POSTs a second, next to nothing beside the clients).
import type { ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { PACED_RATE, bestOf, latencyText, runFanout, type Load, type Result } from './fanout-load.js';
import { formatRate, type BenchResult } from './harness.js';
import { answers200, brokerArgs, cpuSeconds, freePort, startNode } from './processes.js';
import { switchboardTarget } from './targets.js';

/**
 * 100 subscribers of the one topic; a burst of 5,000 publishes (500,000 deliveries, 5,000 publication events:
 * long enough, about a second, that the CPU clock's 10 ms ticks and the machine's noise weigh little).
 */
const LOAD: Load = { subscribers: 100, burst: 5000, pacedMessages: 20 };
/** Passes over the three brokers; each keeps its best, and the spread between its passes shows the noise. */
const PASSES = 3;
/** Once per broker before the timed passes, so that neither pass times a cold JIT. */
const WARM_UP: Load = { subscribers: 100, burst: 1000, pacedMessages: 0 };
/** The dead backend's queue: far fewer than one burst's events, so that it overflows in every run. */
const DEAD_QUEUE_SIZE = 200;
/** The dead backend's POSTs time out after this, so that retries happen during the run. */
const DEAD_TIMEOUT = '1s';
const SECRET = 'bench-webhook-secret-of-at-least-32-bytes';
/** The fan-out topic is `bench.fanout` (targets.ts): its namespace sends client publications. */
const NAMESPACES = JSON.stringify({ 'bench.': { webhooks: { events: ['publication'] } } });

interface Setup {
  name: string;
  port: number;
  pid: number;
}

export async function benchWebhooks(): Promise<BenchResult> {
  const live = await liveBackend();
  const dead = await deadBackend();
  const children: ChildProcess[] = [];
  const broker = async (name: string, ...flags: string[]): Promise<Setup> => {
    const port = await freePort();
    const child = await startNode(brokerArgs(port, ...flags), answers200(`http://127.0.0.1:${port}/readyz`));
    children.push(child);
    return { name, port, pid: child.pid! };
  };
  const webhookFlags = (url: string): string[] => [
    '--webhook-url', url, '--webhook-secret', SECRET,
    '--webhook-events', 'connection.opened,connection.closed', '--namespaces', NAMESPACES,
  ];
  try {
    const setups = await Promise.all([
      broker('no webhooks'),
      broker('webhooks, backend answers 200', ...webhookFlags(live.url)),
      broker(`webhooks, dead backend, queue ${DEAD_QUEUE_SIZE}`, ...webhookFlags(dead.url), '--webhook-queue-size', String(DEAD_QUEUE_SIZE), '--webhook-timeout', DEAD_TIMEOUT),
    ]);
    const run = (setup: Setup, load = LOAD): Promise<Result> =>
      runFanout(switchboardTarget(setup.name, [setup.port]), () => cpuSeconds(setup.pid), load);
    for (const setup of setups) await run(setup, WARM_UP);
    // Passes over all three in turn, so drift in machine speed hits each alike; each keeps its best.
    const passes: Result[][] = Array.from({ length: PASSES }, () => []);
    for (const pass of passes) for (const setup of setups) pass.push(await run(setup));
    const ofSetup = (index: number): Result[] => passes.map((pass) => pass[index]!);
    const results = setups.map((_, index) => ofSetup(index).reduce(bestOf));
    const metrics = await Promise.all(setups.map((setup) => webhookMetrics(setup.port)));

    const [none] = results as [Result];
    const spread = (index: number): string => {
      const rates = ofSetup(index).map((result) => result.deliveredPerSecond);
      return `${((Math.max(...rates) / Math.min(...rates) - 1) * 100).toFixed(0)}%`;
    };
    return {
      name: `webhooks under fan-out: 1 publisher, ${LOAD.subscribers} subscribers, 100-byte messages, connection + publication events (best of ${PASSES} runs each)`,
      lines: [
        `${'broker'.padEnd(42)} ${`burst of ${LOAD.burst}, delivered`.padStart(24)}  ratio  pass spread  CPU / 1k deliveries  ratio   latency at ${PACED_RATE} publishes/s`,
        ...setups.map((setup, index) => {
          const result = results[index]!;
          const cpu = `${result.serverCpuMsPer1000!.toFixed(2)} ms`;
          return `${setup.name.padEnd(42)} ${formatRate(result.deliveredPerSecond, 'msg').padStart(24)}  ${(result.deliveredPerSecond / none.deliveredPerSecond).toFixed(2)}x  ${spread(index).padStart(11)}  ${cpu.padStart(19)}  ${(result.serverCpuMsPer1000! / none.serverCpuMsPer1000!).toFixed(2)}x   ${latencyText(result)}`;
        }),
        ...setups.slice(1).map((setup, index) => {
          const seen = metrics[index + 1]!;
          return `${`${setup.name}, /metrics:`.padEnd(52)} queued ${seen.queued}, delivered ${seen.delivered}, dropped ${seen.dropped} (${seen.droppedByReason || 'none'}), POSTs ${seen.requestsByOutcome || 'none'}`;
        }),
        `backend answering 200 received ${live.events()} events in ${live.posts()} POSTs; the dead backend accepted ${dead.connections()} connections`,
      ],
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    live.server.closeAllConnections();
    live.server.close();
    dead.close();
  }
}

/** A backend that answers every POST with 200 and counts the events it was sent. */
async function liveBackend(): Promise<{ url: string; server: Server; events: () => number; posts: () => number }> {
  let events = 0;
  let posts = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      posts++;
      events += (JSON.parse(Buffer.concat(chunks).toString()) as { events: unknown[] }).events.length;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/events`, server, events: () => events, posts: () => posts };
}

/** A backend that accepts connections and never answers: every POST hangs until the broker's timeout. */
async function deadBackend(): Promise<{ url: string; close: () => void; connections: () => number }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const close = (): void => {
    for (const socket of sockets) socket.destroy();
    server.close();
  };
  return { url: `http://127.0.0.1:${port}/events`, close, connections: () => connections };
}

interface WebhookMetrics {
  queued: number;
  delivered: number;
  dropped: number;
  droppedByReason: string;
  requestsByOutcome: string;
}

/** The webhook series of the broker's GET /metrics (webhooks/webhook-metrics.ts). */
async function webhookMetrics(port: number): Promise<WebhookMetrics> {
  const text = await new Promise<string>((resolve, reject) => {
    request(`http://127.0.0.1:${port}/metrics`, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks).toString()));
    })
      .once('error', reject)
      .end();
  });
  const samples = (name: string): [string, number][] =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .map((line) => [/="([^"]*)"/.exec(line)?.[1] ?? '', Number(line.slice(line.lastIndexOf(' ') + 1))]);
  const sum = (name: string): number => samples(name).reduce((total, [, value]) => total + value, 0);
  const labelled = (name: string): string =>
    samples(name)
      .filter(([, value]) => value > 0)
      .map(([label, value]) => `${label} ${value}`)
      .join(', ');
  return {
    queued: sum('switchboard_webhook_events_total'),
    delivered: sum('switchboard_webhook_events_delivered_total'),
    dropped: sum('switchboard_webhook_events_dropped_total'),
    droppedByReason: labelled('switchboard_webhook_events_dropped_total'),
    requestsByOutcome: labelled('switchboard_webhook_requests_total'),
  };
}
