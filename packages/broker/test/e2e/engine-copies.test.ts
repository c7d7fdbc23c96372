import t, { type Test } from 'tap';
import type { EngineHandler, Publication } from '../../src/engine/engine.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { BrokerError, BrokerErrorCode } from '../../src/errors.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { startBroker } from '../helpers/start-broker.js';

/**
 * De-duplication lives in the hub, once for every engine and every path: whatever an engine hands over more
 * than once, each connection gets each (topic, epoch, offset) once. The engine here hands publications
 * over the ways the Redis engine can: copies back to back (a node listening on several channels that carry
 * the topic), and, after an interruption, live publications that the hub also replays from history, or that
 * it delivered before the interruption.
 */
class CopyingEngine extends MemoryEngine {
  /** Extra copies of every publication, right after it. */
  copies = 0;
  private upstream: EngineHandler | undefined;
  private dropping = false;
  /** Everything published, as the engine saw it. */
  readonly published: Publication[] = [];

  override async start(handler: EngineHandler): Promise<void> {
    this.upstream = handler;
    await super.start({
      onPublication: (publication) => {
        this.published.push(publication);
        if (this.dropping) return;
        for (let copy = 0; copy <= this.copies; copy++) handler.onPublication(publication);
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

  /** Back, and `again` arrives live right after the resume, racing the hub's history read. */
  restore(again: readonly Publication[]): void {
    this.dropping = false;
    this.upstream?.onResumed?.();
    for (const publication of again) this.upstream?.onPublication(publication);
  }
}

async function open(t: Test, url: string): Promise<Peer> {
  const peer = await Peer.open(url);
  t.teardown(() => peer.close());
  return peer;
}

const offsetsOf = (peer: Peer, topic: string): number[] =>
  peer.deliveries.filter((delivery) => delivery.topic === topic).map((delivery) => delivery.offset ?? 0);

t.test('copies handed over back to back reach each connection once, however many of its patterns match', async (t) => {
  const engine = new CopyingEngine();
  engine.copies = 2;
  const broker = await startBroker(t, {}, { engine });
  const overlapping = await open(t, broker.url);
  const exact = await open(t, broker.url);
  const publisher = await open(t, broker.url);
  for (const pattern of ['feed.a', 'feed.*', 'feed.>']) await overlapping.subscribe(pattern);
  await exact.subscribe('feed.a');
  for (let n = 1; n <= 5; n++) await publisher.publish('feed.a', n);
  await publisher.publish('feed.a', 'end');
  for (const peer of [overlapping, exact]) await peer.waitFor((message) => message.op === 'message' && message.data === 'end');
  t.same(offsetsOf(overlapping, 'feed.a'), [1, 2, 3, 4, 5, 6], 'three patterns, three copies: each offset once');
  t.same(offsetsOf(exact, 'feed.a'), [1, 2, 3, 4, 5, 6], 'another connection: each offset once');
  t.equal(broker.broker.stats.publications, 6, 'counted once each');
});

t.test('after an interruption: live copies of what the replay carries, and of what came before, reach each connection once', async (t) => {
  const engine = new CopyingEngine();
  const broker = await startBroker(t, {}, { engine });
  const subscriber = await open(t, broker.url);
  const publisher = await open(t, broker.url);
  await subscriber.subscribe('feed.>');
  await publisher.publish('feed.a', 1);
  await subscriber.waitForDeliveries(1);
  engine.cut();
  await publisher.publish('feed.a', 2);
  await publisher.publish('feed.a', 3);
  // Offset 1 was delivered before the cut; 2 and 3 are missed, replayed from history, and arrive live too.
  engine.restore(engine.published.filter((publication) => publication.topic === 'feed.a'));
  await publisher.publish('feed.a', 4);
  await subscriber.waitFor((message) => message.op === 'message' && message.data === 4);
  t.same(offsetsOf(subscriber, 'feed.a'), [1, 2, 3, 4], 'each offset once, in order');
  t.notOk(subscriber.log.some((entry) => entry.kind === 'message' && entry.message.op === 'gap'), 'and no gap');
});
