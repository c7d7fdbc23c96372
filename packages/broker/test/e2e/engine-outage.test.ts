import type { GapMessage } from '@switchboard/protocol';
import t, { type Test } from 'tap';
import type { EngineHandler } from '../../src/engine/engine.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { BrokerError, BrokerErrorCode } from '../../src/errors.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { startBroker } from '../helpers/start-broker.js';

/**
 * After an engine interruption (engine contract: `onInterrupted` ... `onResumed`) the hub recovers what this
 * node missed from history, in order and before newer messages, and announces what history cannot give
 * back as an `engine_outage` gap (protocol.md §8.3). The engine here loses deliveries the way a Redis
 * subscriber cut off by Redis does: publishes still succeed, this node just does not hear them.
 */
class LossyEngine extends MemoryEngine {
  private upstream: EngineHandler | undefined;
  private dropping = false;

  override async start(handler: EngineHandler): Promise<void> {
    this.upstream = handler;
    await super.start({
      onPublication: (publication) => {
        if (!this.dropping) handler.onPublication(publication);
      },
      onInterrupted: (error) => handler.onInterrupted?.(error),
      onResumed: () => handler.onResumed?.(),
    });
  }

  /** The node's subscription breaks: publications go on without it. */
  cut(): void {
    this.dropping = true;
    this.upstream?.onInterrupted?.(new BrokerError(BrokerErrorCode.engineUnavailable, 'subscriber cut off'));
  }

  /** Re-subscribed: the engine tells the hub to recover. */
  restore(): void {
    this.resubscribe();
    this.upstream?.onResumed?.();
  }

  /** Re-subscribed, and live publications arrive, before the engine has told the hub (a rebuild's canary is still out). */
  resubscribe(): void {
    this.dropping = false;
  }
}

async function setup(t: Test, overrides = {}) {
  const engine = new LossyEngine();
  const broker = await startBroker(t, overrides, { engine });
  const subscriber = await Peer.open(broker.url);
  const publisher = await Peer.open(broker.url);
  t.teardown(() => Promise.all([subscriber.close(), publisher.close()]));
  await subscriber.subscribe('feed.>');
  return { engine, subscriber, publisher };
}

t.test('missed publications come back from history, in order, before newer ones; no gap', async (t) => {
  const { engine, subscriber, publisher } = await setup(t);
  await publisher.publish('feed.a', 1);
  await subscriber.waitForDeliveries(1);
  engine.cut();
  await publisher.publish('feed.a', 2);
  await publisher.publish('feed.a', 3);
  engine.restore();
  await publisher.publish('feed.a', 4);
  const deliveries = await subscriber.waitForDeliveries(4);
  t.same(
    deliveries.map((delivery) => [delivery.offset, delivery.data]),
    [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ],
  );
  t.notOk(subscriber.messages.some((message) => message.op === 'gap'));
});

t.test('live publications before onResumed wait for the recovery: what the outage lost still comes back first', async (t) => {
  const { engine, subscriber, publisher } = await setup(t);
  await publisher.publish('feed.d', 1);
  await subscriber.waitForDeliveries(1);
  engine.cut();
  await publisher.publish('feed.d', 2);
  engine.resubscribe();
  await publisher.publish('feed.d', 3);
  engine.restore();
  await publisher.publish('feed.d', 4);
  const deliveries = await subscriber.waitForDeliveries(4);
  t.same(
    deliveries.map((delivery) => [delivery.offset, delivery.data]),
    [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ],
    'offset 2 replayed before 3, which waited; nothing twice',
  );
  t.notOk(subscriber.messages.some((message) => message.op === 'gap'));
});

t.test('without history the loss is announced as an engine_outage gap', async (t) => {
  const { engine, subscriber, publisher } = await setup(t, { historySize: 0 });
  await publisher.publish('feed.b', 1);
  await subscriber.waitForDeliveries(1);
  engine.cut();
  await publisher.publish('feed.b', 2);
  await publisher.publish('feed.b', 3);
  engine.restore();
  const gap = await subscriber.waitFor<GapMessage>((message) => message.op === 'gap');
  t.match(gap, { op: 'gap', topic: 'feed.b', from: 2, to: 3, reason: 'engine_outage', epoch: subscriber.deliveries[0]?.epoch });
  await publisher.publish('feed.b', 4);
  const deliveries = await subscriber.waitForDeliveries(2);
  t.same(
    deliveries.map((delivery) => delivery.offset),
    [1, 4],
  );
});

t.test('more missed than a replay may carry: the first part is replayed, the rest announced', async (t) => {
  const { engine, subscriber, publisher } = await setup(t, { maxRecoveryMessages: 2 });
  await publisher.publish('feed.c', 1);
  await subscriber.waitForDeliveries(1);
  engine.cut();
  for (let value = 2; value <= 6; value++) await publisher.publish('feed.c', value);
  engine.restore();
  const gap = await subscriber.waitFor<GapMessage>((message) => message.op === 'gap');
  t.match(gap, { topic: 'feed.c', from: 4, to: 6, reason: 'engine_outage' });
  await publisher.publish('feed.c', 7);
  const deliveries = await subscriber.waitForDeliveries(4);
  t.same(
    deliveries.map((delivery) => delivery.offset),
    [1, 2, 3, 7],
  );
});
