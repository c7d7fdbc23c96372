import pino from 'pino';
import t from 'tap';
import type { Engine, EngineHandler, PresenceEntry } from '../../src/engine/engine.js';
import { MemoryCluster } from '../../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import type { Delivery } from '../../src/hub/delivery.js';
import { uncompressed } from '../../src/hub/delivery.js';
import { Hub } from '../../src/hub/hub.js';
import type { HubSubscriber, OutageGap, PresenceOutageGap } from '../../src/hub/hub-subscriber.js';
import type { PresenceDelivery } from '../../src/hub/presence-delivery.js';
import { BrokerStats } from '../../src/stats.js';
import { eventually } from '../helpers/start-broker.js';

/**
 * The hub's presence fan-out over the memory engine (docs/design/presence.md §2.1): entries the engine loses
 * on the way to this node (a skipped `seq`, an outage) are replayed from the presence history, or announced
 * as `presence_gap` `engine_outage`; never silently missing. The engine is the real memory engine; only the
 * hand-over to the hub is cut, as a lost pub/sub message would be.
 */

const topic = 'chat.room1';

/** The memory engine, with a switch that loses presence entries between it and its handler. */
function lossyEngine(cluster: MemoryCluster, lose: (entry: PresenceEntry) => boolean): Engine {
  const inner = new MemoryEngine({ cluster, nodeId: 'hub' });
  return {
    nodeId: inner.nodeId,
    presence: inner.presence,
    start: (handler: EngineHandler) =>
      inner.start({
        onPublication: (publication) => handler.onPublication(publication),
        onInterrupted: (error) => handler.onInterrupted?.(error),
        onResumed: () => handler.onResumed?.(),
        onPresence: (entry) => {
          if (!lose(entry)) handler.onPresence?.(entry);
        },
      }),
    subscribe: (pattern) => inner.subscribe(pattern),
    unsubscribe: (pattern) => inner.unsubscribe(pattern),
    publish: (to, payload, options) => inner.publish(to, payload, options),
    history: (of, query) => inner.history(of, query),
    command: (command, timeoutMs) => inner.command(command, timeoutMs),
    ready: () => inner.ready(),
    close: () => inner.close(),
  };
}

class Recorder implements HubSubscriber {
  readonly variant = uncompressed;
  readonly seen: string[] = [];
  deliver(delivery: Delivery): void {
    this.seen.push(`message ${delivery.publication.offset}`);
  }
  notifyGap(gap: OutageGap): void {
    this.seen.push(`gap ${gap.from}-${gap.to}`);
  }
  deliverPresence(delivery: PresenceDelivery): void {
    const { entry } = delivery;
    this.seen.push(`${entry.kind} ${entry.seq}`);
  }
  notifyPresenceGap(gap: PresenceOutageGap): void {
    this.seen.push(`presence_gap ${gap.seq}`);
  }
}

async function startHub(t: { teardown(fn: () => unknown): void }, engine: Engine, historySize = 100, eventRate = 0): Promise<Hub> {
  const hub = new Hub({
    engine,
    stats: new BrokerStats(),
    logger: pino({ level: 'silent' }),
    chunkBytes: 65536,
    policyFor: () => 'drop-oldest',
    historyFor: () => ({ size: 100, ttlMs: 60_000 }),
    deflate: { threshold: 1024, maxInflatedSize: 1 << 20 },
    maxRecoveryMessages: 100,
    presence: { patterns: ['chat.>'], write: { eventRate, history: { size: historySize, ttlMs: 60_000 } }, maxMembers: 100 },
  });
  await hub.start();
  t.teardown(async () => {
    await engine.close();
    hub.close();
  });
  return hub;
}

const member = (index: number) => ({ connectionId: `c${index}`, user: `u${index}` });

t.test('a skipped seq is recovered from the presence history, before the entry that revealed it', async (t) => {
  const cluster = new MemoryCluster();
  const hub = await startHub(t, lossyEngine(cluster, (entry) => entry.seq === 2));
  const recorder = new Recorder();
  await hub.subscribe(recorder, topic, { presence: 'connection' });
  for (const index of [1, 2, 3]) await hub.presence?.join(topic, member(index));
  await eventually(() => recorder.seen.length >= 3, 5000, 'three entries');
  t.same(recorder.seen, ['join 1', 'join 2', 'join 3']);
});

t.test('a skipped seq whose history read fails is announced, not passed over', async (t) => {
  const cluster = new MemoryCluster();
  const engine = lossyEngine(cluster, (entry) => entry.seq === 2);
  const presence = engine.presence;
  if (presence === undefined) throw new Error('no presence');
  const failing: Engine = {
    ...engine,
    presence: { ...presence, history: () => Promise.reject(new Error('the history read failed')) },
  };
  const hub = await startHub(t, failing);
  const recorder = new Recorder();
  await hub.subscribe(recorder, topic, { presence: 'connection' });
  for (const index of [1, 2, 3]) await hub.presence?.join(topic, member(index));
  await eventually(() => recorder.seen.length >= 3, 5000, 'three notices');
  t.same(recorder.seen, ['join 1', 'presence_gap 2', 'join 3']);
});

t.test('after an outage: missed entries are replayed; beyond the presence history, presence_gap engine_outage', async (t) => {
  for (const [historySize, expected] of [
    [100, ['join 1', 'join 2', 'join 3']],
    [1, ['join 1', 'presence_gap 3']],
  ] as const) {
    const cluster = new MemoryCluster();
    let losing = false;
    const hub = await startHub(t, lossyEngine(cluster, () => losing), historySize);
    const recorder = new Recorder();
    await hub.subscribe(recorder, topic, { presence: 'connection' });
    await hub.presence?.join(topic, member(1));
    losing = true;
    await hub.presence?.join(topic, member(2));
    await hub.presence?.join(topic, member(3));
    losing = false;
    cluster.interrupt();
    cluster.resume();
    await eventually(() => recorder.seen.length >= expected.length, 5000, 'the recovery');
    t.same(recorder.seen, expected, `presence history of ${historySize}`);
    await hub.presence?.join(topic, member(4));
    t.same(recorder.seen.at(-1), 'join 4', 'live entries follow');
  }
});

t.test('an outage while listeners have no entry to start from (their joins were coalesced): presence_gap', async (t) => {
  const cluster = new MemoryCluster();
  const hub = await startHub(t, lossyEngine(cluster, () => false), 100, 1);
  const recorder = new Recorder();
  await hub.presence?.join(topic, member(1)); // the window's one entry, before anyone listens
  await hub.subscribe(recorder, topic, { presence: 'connection' });
  await hub.presence?.join(topic, member(2)); // coalesced: no entry
  await hub.publish(topic, { encoding: 'json', text: '1' }, { priority: 'normal' });
  cluster.interrupt();
  cluster.resume();
  await eventually(() => recorder.seen.includes('presence_gap 1'), 5000, 'the notice');
  t.same(recorder.seen.slice(0, 2), ['message 1', 'presence_gap 1']);
});

t.test('a user-level listener gets first in and last out; a subscription without presence gets no entries', async (t) => {
  const hub = await startHub(t, new MemoryEngine());
  const user = new Recorder();
  const plain = new Recorder();
  await hub.subscribe(user, topic, { presence: 'user' });
  await hub.subscribe(plain, topic);
  await hub.presence?.join(topic, { connectionId: 'a1', user: 'alice' });
  await hub.presence?.join(topic, { connectionId: 'a2', user: 'alice' });
  await hub.presence?.leave(topic, 'a1', 'left');
  await hub.presence?.leave(topic, 'a2', 'disconnected');
  t.same(user.seen, ['join 1', 'leave 4']);
  t.same(plain.seen, []);
});
