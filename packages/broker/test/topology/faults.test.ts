import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { type LedgerReport, checkDeliveries, formatReport } from '../helpers/delivery-ledger.js';
import { SteadyPublisher, type TracedSubscription, type TrafficClient, openClient, traceSubscription } from '../helpers/fault-traffic.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { eventually, eventuallyAsync } from '../helpers/start-broker.js';
import { type BrokerProcess, freePort, startBrokerProcess, startNginx, waitListening } from '../helpers/topology-processes.js';

/**
 * Order and loss under faults (issue 13), on the compose topology as processes: one redis-server (AOF,
 * `appendfsync always`), two `switchboard` nodes and Debian's nginx with deploy/nginx/switchboard.conf. Per
 * case, SDK clients connect through nginx: six subscribers (exact topics, `*` and `>` wildcards) and two
 * publishers publishing with acks at a steady bounded rate, one with idempotency keys and one without. Then
 * one fault, and the delivery ledger checks, for every acknowledged publication and every subscription that
 * covers it, that it arrived exactly once and in its publisher's order, or was announced as lost. Silent
 * loss, duplicates and reordering must each be 0. The processes are shared by the cases, which run in turn
 * and leave the topology whole; a case that cannot start or reach them fails.
 */

// About a minute alone (six cases of 5-15 s, processes started once, a node restarted twice); a CI machine
// running other test files beside it may take twice that, which tap's default of 120 s would not allow.
t.setTimeout(300_000);

/** Retained per topic: more than a case publishes, so every recovery by offset can succeed. */
const historySize = 1000;
/** 50 publishes a second per publisher: steady traffic that stays far from any limit on a 2-core machine. */
const publishIntervalMs = 20;
const brokerEnv = { HISTORY_SIZE: String(historySize) };
/** Redis's default limit for pub/sub clients, restored after the case that lowers it. */
const defaultPubsubLimit = 'pubsub 33554432 8388608 60';

interface Topology {
  readonly redis: RedisServer;
  /** The running node processes, replaced when a case restarts one. */
  readonly brokers: BrokerProcess[];
  readonly ports: readonly number[];
  readonly url: string;
  readonly nginxPort: number;
}

/** Processes outlive cases, so they belong to the root test. */
async function startTopology(root: Test): Promise<Topology> {
  const redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  root.teardown(() => redis.destroy());
  const ports = [await freePort(), await freePort()];
  const brokers = [
    await startBrokerProcess(root, 'broker-1', redis.url, ports[0], brokerEnv),
    await startBrokerProcess(root, 'broker-2', redis.url, ports[1], brokerEnv),
  ];
  await Promise.all(brokers.map(waitListening));
  const nginx = await startNginx(root, ports);
  return { redis, brokers, ports, url: `ws://127.0.0.1:${nginx.port}/`, nginxPort: nginx.port };
}

const topology = await startTopology(t);

async function readyz(broker: BrokerProcess): Promise<number> {
  return fetch(`http://127.0.0.1:${broker.port}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
    (response) => response.status,
    () => 0,
  );
}

/** Both nodes ready, and nginx routing to each of them (a node it saw fail is skipped for 5 s). */
async function wholeTopology(): Promise<void> {
  for (const broker of topology.brokers) {
    await eventuallyAsync(async () => (await readyz(broker)) === 200, `${broker.name} ready`, 30_000);
  }
  const seen = new Set<string>();
  await eventuallyAsync(
    async () => {
      const health = await fetch(`http://127.0.0.1:${topology.nginxPort}/healthz`).then(
        (response) => response.json() as Promise<{ node?: string }>,
        () => ({}) as { node?: string },
      );
      if (health.node !== undefined) seen.add(health.node);
      return seen.size === topology.brokers.length;
    },
    'nginx routes to both nodes',
    20_000,
  );
}

/** Starts a node again on its port, for the cases after this one. */
async function restartBroker(index: number): Promise<void> {
  const old = topology.brokers[index] as BrokerProcess;
  const broker = await startBrokerProcess(t, old.name, topology.redis.url, old.port, brokerEnv);
  await waitListening(broker);
  topology.brokers[index] = broker;
}

function brokerNamed(name: string | undefined): { broker: BrokerProcess; index: number } {
  const index = topology.brokers.findIndex((broker) => broker.name === name);
  if (index < 0) throw new Error(`no node named ${String(name)}`);
  return { broker: topology.brokers[index] as BrokerProcess, index };
}

interface CaseRun {
  readonly subscribers: readonly TrafficClient[];
  readonly subscriptions: readonly TracedSubscription[];
  readonly publishers: readonly SteadyPublisher[];
  readonly topics: readonly string[];
}

interface CaseResult extends CaseRun {
  readonly report: LedgerReport;
}

/**
 * One case: clients through nginx, traffic, `fault` while it flows, more traffic, then every publish settled
 * and every delivery or notice in (bounded waits), and the ledger's figures printed.
 */
async function faultCase(t: Test, prefix: string, fault: (run: CaseRun) => Promise<void>): Promise<CaseResult> {
  await wholeTopology();
  const topics = [`${prefix}.a`, `${prefix}.b`, `${prefix}.c.d`];
  const plan: readonly (readonly string[])[] = [
    [`${prefix}.a`],
    [`${prefix}.b`],
    [`${prefix}.*`],
    [`${prefix}.*`],
    [`${prefix}.a`, `${prefix}.>`],
    [`${prefix}.>`],
  ];
  const subscribers: TrafficClient[] = [];
  const subscriptions: TracedSubscription[] = [];
  // One at a time, so nginx's least connections alternates the nodes.
  for (const [index, patterns] of plan.entries()) {
    const holder = await openClient(t, `s${index + 1}`, topology.url);
    subscribers.push(holder);
    for (const pattern of patterns) subscriptions.push(await traceSubscription(holder, pattern));
  }
  const publishers: SteadyPublisher[] = [];
  for (const [name, keyed] of [['p1', true], ['p2', false]] as const) {
    // Bounded waits: a publish that cannot be served fails within seconds, so a case always ends.
    const holder = await openClient(t, name, topology.url, { ackTimeoutMs: 10_000, sendQueue: { timeoutMs: 10_000 } });
    publishers.push(new SteadyPublisher(holder, { topics, intervalMs: publishIntervalMs, maxInFlight: 200, keyed }));
  }
  const run: CaseRun = { subscribers, subscriptions, publishers, topics };
  const nodes = [...subscribers, ...publishers.map((publisher) => publisher.holder)].map((holder) => `${holder.name}@${holder.nodes[0]}`);
  t.comment(`${prefix}: clients ${nodes.join(' ')}`);

  for (const publisher of publishers) publisher.start();
  await sleep(1500);
  await fault(run);
  await sleep(1500);
  await Promise.all(publishers.map((publisher) => publisher.stop()));

  const acked = publishers.flatMap((publisher) => publisher.acked);
  const check = (): LedgerReport => checkDeliveries(acked, subscriptions);
  // Deliveries and recoveries still on their way: wait (bounded) until nothing is missing.
  await eventually(() => check().silentlyLost === 0, 15_000, 'every delivery or notice').catch(() => undefined);
  const report = check();
  for (const publisher of publishers) {
    const failures = [...publisher.failures].map(([code, count]) => `${code} ${count}`).join(', ') || 'none';
    t.comment(`${prefix}: ${publisher.name} published ${publisher.published}, acknowledged ${publisher.acked.length} (${publisher.duplicates} as duplicates), failed: ${failures}`);
  }
  t.comment(`${prefix}: ${formatReport(report)}`);
  for (const example of report.examples) t.comment(`${prefix}: ${example}`);
  t.ok(report.acknowledged > 0 && report.expected > report.acknowledged, 'traffic flowed: publications acknowledged, each expected by several subscriptions');
  t.equal(report.silentlyLost, 0, 'nothing acknowledged was lost silently');
  t.equal(report.duplicated, 0, 'nothing arrived twice');
  t.equal(report.reordered, 0, 'every subscriber got each publisher\'s publications in publish order');
  t.equal(report.misorderedAcks, 0, 'offsets follow each publisher\'s publish order per topic');
  t.same(subscriptions.flatMap((subscription) => subscription.errors), [], 'no subscription failed');
  for (const holder of [...subscribers, ...publishers.map((publisher) => publisher.holder)]) await holder.client.close();
  return { ...run, report };
}

/** Epochs each topic's acknowledgements named, in order of first appearance. */
function epochsByTopic(result: CaseResult): Map<string, string[]> {
  const epochs = new Map<string, string[]>();
  for (const publication of result.publishers.flatMap((publisher) => publisher.acked)) {
    const list = epochs.get(publication.topic) ?? [];
    if (!list.includes(publication.epoch)) list.push(publication.epoch);
    epochs.set(publication.topic, list);
  }
  return epochs;
}

function recoveryFailures(result: CaseResult): string[] {
  return result.subscriptions.flatMap((subscription) => subscription.recoveryFailures);
}

t.test('Redis killed with -9 and restarted empty: topics start new epochs, and every loss is announced', async (t) => {
  const result = await faultCase(t, 'empty', async () => {
    await topology.redis.kill();
    rmSync(join(topology.redis.dir, 'appendonlydir'), { recursive: true, force: true });
    await sleep(3000);
    await topology.redis.restart();
    await wholeTopology();
  });
  const epochs = epochsByTopic(result);
  t.ok([...epochs.values()].every((list) => list.length === 2), 'each topic went on in a new epoch');
  t.ok(
    result.subscriptions.every((subscription) => subscription.recoveryFailures.length > 0 && subscription.recoveryFailures.every((reason) => reason === 'epoch_mismatch')),
    'every subscription was told to resync (epoch_mismatch)',
  );
});

t.test('Redis killed with -9 and restarted with its AOF: topics keep their epoch; subscribers recover without a resync', async (t) => {
  const result = await faultCase(t, 'aof', async () => {
    await topology.redis.kill();
    await sleep(3000);
    await topology.redis.restart();
    await wholeTopology();
  });
  t.ok([...epochsByTopic(result).values()].every((list) => list.length === 1), 'one epoch per topic throughout');
  t.same(recoveryFailures(result), [], 'no failed recovery: nothing to resync');
  t.equal(result.report.announcedLost, 0, 'nothing lost: what the nodes missed came back from history');
});

t.test('Redis frozen with SIGSTOP for 5 s: publishes fail clearly, readiness drops and returns; nothing lost or reordered', async (t) => {
  const notReady = new Set<string>();
  const result = await faultCase(t, 'frozen', async () => {
    topology.redis.signal('SIGSTOP');
    const thaw = Date.now() + 5000;
    try {
      // Each probe sends a canary through Redis: it cannot come back from a frozen server.
      while (Date.now() < thaw) {
        const statuses = await Promise.all(topology.brokers.map(readyz));
        statuses.forEach((status, index) => status === 503 && notReady.add(topology.brokers[index]!.name));
        await sleep(Math.max(0, Math.min(250, thaw - Date.now())));
      }
    } finally {
      topology.redis.signal('SIGCONT');
    }
    await wholeTopology();
  });
  t.same([...notReady].sort(), ['broker-1', 'broker-2'], 'both nodes answered /readyz 503 while Redis was frozen, and 200 again after');
  const failed = result.publishers.reduce((sum, publisher) => sum + (publisher.failures.get('unavailable') ?? 0), 0);
  t.ok(failed > 0, `publishes during the freeze failed with unavailable (${failed})`);
});

t.test('Redis drops a node\'s pub/sub connection over client-output-buffer-limit: it notices, resubscribes and recovers', async (t) => {
  const log = (): string => readFileSync(join(topology.redis.dir, 'redis.log'), 'utf8');
  const dropsBefore = log().split('overcoming of output buffer limits').length;
  const interruptionsBefore = topology.brokers.map((broker) => broker.output().split('engine interrupted').length);
  await faultCase(t, 'buffer', async (run) => {
    t.equal(await topology.redis.cli('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1024 0 0'), 'OK');
    try {
      // 100 publications of 2 kB arrive in a few reads: each subscriber's reply list outgrows 1 kB at once.
      run.publishers[0]!.burst(100, 2000);
      await eventually(() => log().split('overcoming of output buffer limits').length > dropsBefore, 10_000, 'Redis closing a subscriber');
    } finally {
      await topology.redis.cli('CONFIG', 'SET', 'client-output-buffer-limit', defaultPubsubLimit);
    }
    await wholeTopology();
  });
  const noticed = topology.brokers.filter((broker, index) => broker.output().split('engine interrupted').length > (interruptionsBefore[index] ?? 0));
  t.ok(noticed.length > 0, `the node(s) Redis cut off noticed (${noticed.map((broker) => broker.name).join(', ')}) and came back ready`);
});

/** The clients a node had when it went away reconnected through nginx to the other one. */
function assertMovedTo(t: Test, result: CaseResult, gone: string, survivor: string): void {
  const holders = [...result.subscribers, ...result.publishers.map((publisher) => publisher.holder)];
  const moved = holders.filter((holder) => holder.nodes[0] === gone);
  t.ok(moved.length > 0, `${moved.length} clients were on ${gone}`);
  t.same(
    moved.map((holder) => holder.nodes.slice(0, 2)),
    moved.map(() => [gone, survivor]),
    `each reconnected through nginx to ${survivor}`,
  );
  t.same(recoveryFailures(result), [], 'they recovered by offset: no resync');
}

t.test('a broker killed with -9 under load: its clients reconnect through nginx to the other node and recover by offset', async (t) => {
  let gone = '';
  let survivor = '';
  const result = await faultCase(t, 'killed', async (run) => {
    const victim = brokerNamed(run.publishers[0]!.holder.nodes[0]);
    gone = victim.broker.name;
    survivor = topology.brokers.find((broker) => broker !== victim.broker)!.name;
    victim.broker.child.kill('SIGKILL');
    await victim.broker.exited;
    await sleep(2000);
    await restartBroker(victim.index);
  });
  assertMovedTo(t, result, gone, survivor);
});

t.test('a broker stopped with SIGTERM under load: its clients reconnect through nginx to the other node and recover by offset', async (t) => {
  let gone = '';
  let survivor = '';
  const result = await faultCase(t, 'stopped', async (run) => {
    const victim = brokerNamed(run.publishers[1]!.holder.nodes[0]);
    gone = victim.broker.name;
    survivor = topology.brokers.find((broker) => broker !== victim.broker)!.name;
    victim.broker.child.kill('SIGTERM');
    await victim.broker.exited;
    await sleep(1000);
    await restartBroker(victim.index);
  });
  assertMovedTo(t, result, gone, survivor);
});
