import t from 'tap';
import { TailRegistry, tailDefaults } from '../../src/console/tail-registry.js';
import type { HubSubscriber } from '../../src/hub/hub-subscriber.js';

/** The registry's limits and idle expiry, over a recording hub and an injected clock. */

function recordingHub(failWith?: Error) {
  const subscribed = new Map<HubSubscriber, string>();
  return {
    subscribed,
    async subscribe(subscriber: HubSubscriber, pattern: string) {
      if (failWith !== undefined) throw failWith;
      subscribed.set(subscriber, pattern);
    },
    unsubscribe(subscriber: HubSubscriber) {
      subscribed.delete(subscriber);
    },
  };
}

t.test('tails subscribe through the hub, up to maxTails, and unsubscribe when closed', async (t) => {
  const hub = recordingHub();
  const registry = new TailRegistry(hub, { ...tailDefaults, maxTails: 2, now: () => 0 });
  t.teardown(() => registry.closeAll());
  const first = await registry.open('a.>');
  await registry.open('b.*');
  t.same([...hub.subscribed.values()], ['a.>', 'b.*']);
  await t.rejects(registry.open('c'), RangeError);
  t.equal(registry.close(first.id), true);
  t.equal(registry.close(first.id), false, 'once');
  t.equal(registry.get(first.id), undefined);
  t.same([...hub.subscribed.values()], ['b.*']);
  await registry.open('c');
  registry.closeAll();
  t.equal(hub.subscribed.size, 0);
});

t.test('a tail nobody reads for idleMs is closed; reading keeps it', async (t) => {
  const hub = recordingHub();
  let now = 0;
  const registry = new TailRegistry(hub, { ...tailDefaults, idleMs: 30_000, now: () => now });
  t.teardown(() => registry.closeAll());
  const read = await registry.open('read.>');
  const idle = await registry.open('idle.>');
  now = 20_000;
  read.read(0);
  now = 40_000;
  registry.closeIdle();
  t.ok(registry.get(read.id), 'read 20 s ago: kept');
  t.equal(registry.get(idle.id), undefined, 'never read for 40 s: closed');
  t.same([...hub.subscribed.values()], ['read.>']);
});

t.test('a subscribe the hub refuses opens no tail', async (t) => {
  const registry = new TailRegistry(recordingHub(new Error('engine unavailable')), { ...tailDefaults, now: () => 0 });
  t.teardown(() => registry.closeAll());
  await t.rejects(registry.open('a.>'), /engine unavailable/);
  t.equal(registry.size, 0);
});
