import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import type { Engine, Payload, Publication, PublishOptions } from '../../src/engine/engine.js';
import { BrokerErrorCode, type BrokerError } from '../../src/errors.js';
import { runCommandContract } from './engine-contract-commands.js';
import { runPresenceContract, type PresenceContractOptions } from './engine-contract-presence.js';

/**
 * The contract every `Engine` implementation must honour, as one suite. The memory engine runs it from
 * `engine-memory.test.ts`; the Redis engine runs the very same suite against a redis-server it starts
 * itself (and fails if it cannot: never skipped).
 */
export interface EngineContractOptions {
  /**
   * Simulates losing and regaining the backend (memory: `MemoryCluster.interrupt`; Redis: kill and restart
   * redis-server). Required, so that no implementation can skip the outage checks.
   */
  readonly outage: { readonly begin: () => Promise<void>; readonly end: () => Promise<void> };
  /**
   * Presence (engine-contract-presence.ts): hooks to drive it, or `{ unsupported }` saying why the engine has
   * none yet. Required, so that an engine cannot skip the presence checks by omission.
   */
  readonly presence: PresenceContractOptions;
  /**
   * How long to wait, once a later barrier publication has arrived, before asserting that something was
   * NOT delivered. Per-topic order is all an engine promises, so absence needs a grace period.
   * @default 25
   */
  readonly settleMs?: number;
  /**
   * Longest wait for something that must happen (a delivery, readiness after an outage).
   * @default 5000
   */
  readonly timeoutMs?: number;
}

/**
 * Returns a new engine node connected to the same backend on every call (two calls make two broker nodes
 * of one cluster). The suite starts and closes the engines itself.
 */
export type EngineFactory = () => Engine | Promise<Engine>;

interface Recorder {
  readonly publications: Publication[];
  readonly interruptions: BrokerError[];
  resumed: number;
}

const normal: PublishOptions = { priority: 'normal' };
const keep = (size: number): PublishOptions => ({ priority: 'normal', history: { size, ttlMs: 60_000 } });
const json = (value: unknown): Payload => ({ encoding: 'json', text: JSON.stringify(value) });

export function runEngineContract(t: Test, name: string, makeEngine: EngineFactory, options: EngineContractOptions): void {
  const settleMs = options.settleMs ?? 25;
  const timeoutMs = options.timeoutMs ?? 5000;
  runPresenceContract(t, name, makeEngine, options.presence);
  runCommandContract(t, name, makeEngine);

  /** A started engine, closed when the test ends, with everything it delivered recorded. */
  async function node(t: Test): Promise<{ engine: Engine; rec: Recorder }> {
    const engine = await makeEngine();
    const rec: Recorder = { publications: [], interruptions: [], resumed: 0 };
    t.teardown(() => engine.close());
    await engine.start({
      onPublication: (publication) => rec.publications.push(publication),
      onInterrupted: (error) => rec.interruptions.push(error),
      onResumed: () => void rec.resumed++,
    });
    return { engine, rec };
  }

  async function eventually(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
  }

  /** Waits until everything published before it has had every chance to be delivered. */
  async function settle(engine: Engine, rec: Recorder, prefix: string): Promise<void> {
    const barrier = `${prefix}.barrier`;
    await engine.subscribe(barrier);
    const { offset } = await engine.publish(barrier, json('barrier'), normal);
    await eventually(() => rec.publications.some((p) => p.topic === barrier && p.offset === offset), 'the barrier');
    await sleep(settleMs);
  }

  const received = (rec: Recorder, topic: string): Publication[] => rec.publications.filter((p) => p.topic === topic);
  /**
   * The offsets of `publications` with copies that follow their original dropped, as the hub drops them. A
   * copy that came later (after another offset) stays, so an assertion on the result catches it.
   */
  const collapsed = (publications: readonly Publication[]): number[] =>
    publications.filter((p, index) => index === 0 || p.offset !== publications[index - 1]?.offset || p.epoch !== publications[index - 1]?.epoch).map((p) => p.offset);
  /** Topics unique to one test, so engines sharing a backend (or a test rerun on one Redis) never interfere. */
  const uniquePrefix = (): string => `contract.${randomBytes(6).toString('hex')}`;

  t.test(`${name}: engine contract`, async (t) => {
    t.test('publish', async (t) => {
      t.test('offsets start at 1 and follow call order; delivery follows offsets', async (t) => {
        const { engine, rec } = await node(t);
        const topic = `${uniquePrefix()}.orders`;
        await engine.subscribe(topic);
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => engine.publish(topic, json(i), normal)));
        t.same(results.map((r) => r.offset), Array.from({ length: 50 }, (_, i) => i + 1), 'offsets in call order');
        t.equal(new Set(results.map((r) => r.epoch)).size, 1, 'one epoch');
        t.ok(results.every((r) => !r.duplicate));
        await eventually(() => received(rec, topic).length === 50, '50 deliveries');
        t.same(received(rec, topic).map((p) => p.offset), results.map((r) => r.offset), 'delivered in offset order');
        t.same(received(rec, topic).map((p) => p.payload), results.map((_, i) => json(i)), 'payloads match offsets');
      });

      t.test('the delivered publication carries topic, payload, priority, position, time and key', async (t) => {
        const { engine, rec } = await node(t);
        const prefix = uniquePrefix();
        await engine.subscribe(`${prefix}.>`);
        const bytes = new Uint8Array([0, 1, 2, 255, 254]);
        const before = Date.now();
        const binary = await engine.publish(`${prefix}.bin`, { encoding: 'binary', bytes }, { priority: 'high', idempotencyKey: 'k-1' });
        const text = await engine.publish(`${prefix}.json`, json({ a: [1, 'two'] }), { priority: 'low' });
        await eventually(() => rec.publications.length === 2, 'two deliveries');
        const [first, second] = rec.publications;
        t.match(first, { topic: `${prefix}.bin`, priority: 'high', offset: binary.offset, epoch: binary.epoch, idempotencyKey: 'k-1' });
        t.equal(first?.payload.encoding, 'binary');
        t.same(first?.payload.encoding === 'binary' ? [...first.payload.bytes] : undefined, [...bytes], 'bytes intact');
        t.match(second, { topic: `${prefix}.json`, priority: 'low', offset: text.offset, epoch: text.epoch });
        t.same(second?.payload, json({ a: [1, 'two'] }), 'JSON text intact');
        t.notOk(second !== undefined && 'idempotencyKey' in second, 'no key when none was given');
        t.ok(typeof first?.time === 'number' && first.time >= before - 60_000, 'time in ms since the Unix epoch');
      });

      t.test('a publication is delivered and gets an offset whether or not history keeps it', async (t) => {
        const { engine, rec } = await node(t);
        const topic = `${uniquePrefix()}.mixed`;
        await engine.subscribe(topic);
        const offsets = [
          (await engine.publish(topic, json(1), normal)).offset,
          (await engine.publish(topic, json(2), keep(10))).offset,
          (await engine.publish(topic, json(3), normal)).offset,
        ];
        t.same(offsets, [1, 2, 3]);
        await eventually(() => received(rec, topic).length === 3, 'three deliveries');
      });

      t.test('invalid topics are rejected with a stable code', async (t) => {
        const { engine } = await node(t);
        for (const topic of ['', 'a..b', 'a.*', 'a.>']) {
          await t.rejects(engine.publish(topic, json(1), normal), { code: BrokerErrorCode.invalidTopic }, JSON.stringify(topic));
        }
        await t.rejects(engine.history('a.*', { limit: 1 }), { code: BrokerErrorCode.invalidTopic });
      });
    });

    t.test('delivery', async (t) => {
      t.test('however many subscribed patterns match: once per node, or copies right after the original', async (t) => {
        // Exactly once per connection is the hub's to ensure: e2e/engine-copies.test.ts, e2e/redis-nodes.test.ts.
        const { engine, rec } = await node(t);
        const prefix = uniquePrefix();
        for (const pattern of [`${prefix}.a.b`, `${prefix}.a.*`, `${prefix}.>`, `${prefix}.*.b`]) await engine.subscribe(pattern);
        const ab = await engine.publish(`${prefix}.a.b`, json(1), normal);
        const ac = await engine.publish(`${prefix}.a.c`, json(2), normal);
        await settle(engine, rec, prefix);
        t.same(collapsed(received(rec, `${prefix}.a.b`)), [ab.offset]);
        t.same(collapsed(received(rec, `${prefix}.a.c`)), [ac.offset]);
      });

      t.test('`*` matches one segment, `>` one or more; nothing else is delivered', async (t) => {
        const { engine, rec } = await node(t);
        const prefix = uniquePrefix();
        await engine.subscribe(`${prefix}.one.*`);
        await engine.subscribe(`${prefix}.tail.>`);
        const expected = [`${prefix}.one.x`, `${prefix}.tail.x`, `${prefix}.tail.x.y`];
        const unexpected = [`${prefix}.one.x.y`, `${prefix}.one`, `${prefix}.tail`, `${prefix}.other`, `${prefix}x.one.x`];
        for (const topic of [...unexpected, ...expected]) await engine.publish(topic, json(topic), normal);
        await settle(engine, rec, prefix);
        t.same(
          rec.publications.map((p) => p.topic).filter((topic) => topic !== `${prefix}.barrier`).sort(),
          [...expected].sort(),
        );
      });

      t.test('subscribing twice is once; unsubscribe stops delivery at once', async (t) => {
        const { engine, rec } = await node(t);
        const prefix = uniquePrefix();
        const topic = `${prefix}.feed`;
        await engine.subscribe(topic);
        await engine.subscribe(topic);
        await engine.publish(topic, json(1), normal);
        await eventually(() => received(rec, topic).length === 1, 'the first delivery');
        await engine.unsubscribe(topic);
        await engine.publish(topic, json(2), normal);
        await settle(engine, rec, prefix);
        t.equal(received(rec, topic).length, 1, 'the engine does not count subscriptions');
        await engine.unsubscribe(`${prefix}.never-subscribed`);
        t.pass('unsubscribing an unknown pattern is ignored');
      });

      t.test('unsubscribing one of two overlapping patterns keeps delivery through the other', async (t) => {
        const { engine, rec } = await node(t);
        const prefix = uniquePrefix();
        const topic = `${prefix}.a.b`;
        await engine.subscribe(`${prefix}.a.*`);
        await engine.subscribe(`${prefix}.>`);
        await engine.unsubscribe(`${prefix}.a.*`);
        await engine.publish(topic, json(1), normal);
        await settle(engine, rec, prefix);
        t.equal(received(rec, topic).length, 1);
      });

      t.test('invalid patterns are rejected with a stable code', async (t) => {
        const { engine } = await node(t);
        for (const pattern of ['', 'a..b', 'a.>.b', 'a*']) {
          await t.rejects(engine.subscribe(pattern), { code: BrokerErrorCode.invalidPattern }, JSON.stringify(pattern));
        }
      });
    });

    t.test('history and recovery', async (t) => {
      t.test('without since: the newest `limit`, ascending; limit 0 gives only the position', async (t) => {
        const { engine } = await node(t);
        const topic = `${uniquePrefix()}.h`;
        let epoch = '';
        for (let i = 1; i <= 5; i++) epoch = (await engine.publish(topic, json(i), keep(10))).epoch;
        const latest = await engine.history(topic, { limit: 3 });
        t.same(latest.publications.map((p) => p.offset), [3, 4, 5]);
        t.same(latest.publications.map((p) => p.payload), [json(3), json(4), json(5)]);
        t.same(latest.position, { offset: 5, epoch });
        t.equal(latest.recovered, false, 'recovered only answers `since`');
        t.notOk('recoveryFailure' in latest, 'no failure without `since`');
        const positionOnly = await engine.history(topic, { limit: 0 });
        t.same(positionOnly.publications, []);
        t.same(positionOnly.position, { offset: 5, epoch });
      });

      t.test('since a position: the publications after it, in order, recovered', async (t) => {
        const { engine } = await node(t);
        const topic = `${uniquePrefix()}.h`;
        let epoch = '';
        for (let i = 1; i <= 5; i++) epoch = (await engine.publish(topic, json(i), keep(10))).epoch;
        const after2 = await engine.history(topic, { since: { offset: 2, epoch }, limit: 100 });
        t.same(after2.publications.map((p) => p.offset), [3, 4, 5]);
        t.equal(after2.recovered, true);
        const page = await engine.history(topic, { since: { offset: 2, epoch }, limit: 2 });
        t.same(page.publications.map((p) => p.offset), [3, 4], 'limit pages the continuation');
        t.equal(page.recovered, true);
        t.equal(page.position.offset, 5, 'the position shows more remains');
        const upToDate = await engine.history(topic, { since: { offset: 5, epoch }, limit: 100 });
        t.same(upToDate.publications, []);
        t.equal(upToDate.recovered, true, 'nothing missed');
      });

      t.test('reading a topic never published fixes its epoch: recovery from offset 0 works later', async (t) => {
        const { engine } = await node(t);
        const topic = `${uniquePrefix()}.fresh`;
        const initial = await engine.history(topic, { limit: 0 });
        t.equal(initial.position.offset, 0);
        for (let i = 1; i <= 3; i++) await engine.publish(topic, json(i), keep(10));
        const caughtUp = await engine.history(topic, { since: initial.position, limit: 100 });
        t.equal(caughtUp.recovered, true);
        t.same(caughtUp.publications.map((p) => p.offset), [1, 2, 3]);
        t.equal(caughtUp.position.epoch, initial.position.epoch);
      });

      t.test('recovery fails when the epoch differs', async (t) => {
        const { engine } = await node(t);
        const topic = `${uniquePrefix()}.h`;
        const { epoch } = await engine.publish(topic, json(1), keep(10));
        await engine.publish(topic, json(2), keep(10));
        const result = await engine.history(topic, { since: { offset: 1, epoch: `not-${epoch}` }, limit: 100 });
        t.equal(result.recovered, false);
        t.equal(result.recoveryFailure, 'epoch_mismatch');
        t.same(result.publications, [], 'nothing that could be mistaken for a continuation');
        t.same(result.position, { offset: 2, epoch });
      });

      t.test('recovery fails when the offset fell out of the retained window', async (t) => {
        const { engine } = await node(t);
        const topic = `${uniquePrefix()}.h`;
        let epoch = '';
        for (let i = 1; i <= 6; i++) epoch = (await engine.publish(topic, json(i), keep(3))).epoch;
        t.same((await engine.history(topic, { limit: 10 })).publications.map((p) => p.offset), [4, 5, 6], 'only the newest 3 kept');
        const lost = await engine.history(topic, { since: { offset: 2, epoch }, limit: 100 });
        t.equal(lost.recovered, false, 'offset 3 is gone');
        t.equal(lost.recoveryFailure, 'expired');
        t.same(lost.publications, []);
        const kept = await engine.history(topic, { since: { offset: 3, epoch }, limit: 100 });
        t.equal(kept.recovered, true);
        t.equal(kept.recoveryFailure, undefined);
        t.same(kept.publications.map((p) => p.offset), [4, 5, 6]);
      });

      t.test('recovery fails across a publication that history did not keep', async (t) => {
        const { engine } = await node(t);
        const topic = `${uniquePrefix()}.h`;
        const { epoch } = await engine.publish(topic, json(1), keep(10));
        await engine.publish(topic, json(2), keep(10));
        await engine.publish(topic, json(3), normal);
        await engine.publish(topic, json(4), keep(10));
        const across = await engine.history(topic, { since: { offset: 2, epoch }, limit: 100 });
        t.equal(across.recovered, false);
        t.equal(across.recoveryFailure, 'no_history');
        const after3 = await engine.history(topic, { since: { offset: 3, epoch }, limit: 100 });
        t.equal(after3.recovered, true);
        t.same(after3.publications.map((p) => p.offset), [4]);
      });

      t.test('recovery fails from a position ahead of the stream or not a position at all', async (t) => {
        const { engine } = await node(t);
        const topic = `${uniquePrefix()}.h`;
        const { epoch } = await engine.publish(topic, json(1), keep(10));
        for (const offset of [2, -1, 0.5, Number.NaN]) {
          const result = await engine.history(topic, { since: { offset, epoch }, limit: 100 });
          t.equal(result.recovered, false, `offset ${offset}`);
          t.equal(result.recoveryFailure, 'epoch_mismatch');
        }
      });
    });

    t.test('idempotency', async (t) => {
      t.test('a retried publish with the same key is neither stored nor delivered again', async (t) => {
        const { engine, rec } = await node(t);
        const prefix = uniquePrefix();
        const topic = `${prefix}.pay`;
        await engine.subscribe(topic);
        const first = await engine.publish(topic, json('once'), { ...keep(10), idempotencyKey: 'retry-1' });
        const retry = await engine.publish(topic, json('once'), { ...keep(10), idempotencyKey: 'retry-1' });
        t.same(retry, { offset: first.offset, epoch: first.epoch, duplicate: true });
        t.equal(first.duplicate, false);
        const other = await engine.publish(topic, json('twice'), { ...keep(10), idempotencyKey: 'retry-2' });
        t.equal(other.offset, first.offset + 1, 'another key is another publication');
        const elsewhere = await engine.publish(`${prefix}.other`, json('x'), { ...keep(10), idempotencyKey: 'retry-1' });
        t.equal(elsewhere.duplicate, false, 'keys are scoped to their topic');
        await settle(engine, rec, prefix);
        t.same(received(rec, topic).map((p) => p.offset), [first.offset, other.offset], 'delivered once');
        t.same((await engine.history(topic, { limit: 10 })).publications.map((p) => p.offset), [1, 2], 'stored once');
      });
    });

    t.test('across nodes', async (t) => {
      t.test('a publication reaches every subscribed node once, the publishing node included', async (t) => {
        const a = await node(t);
        const b = await node(t);
        const prefix = uniquePrefix();
        const topic = `${prefix}.x.y`;
        await a.engine.subscribe(topic);
        await b.engine.subscribe(topic);
        await b.engine.subscribe(`${prefix}.x.*`);
        const results = [];
        for (let i = 0; i < 10; i++) results.push(await a.engine.publish(topic, json(i), keep(20)));
        await eventually(() => received(a.rec, topic).length === 10 && collapsed(received(b.rec, topic)).length === 10, 'both nodes');
        await settle(a.engine, a.rec, prefix);
        await settle(b.engine, b.rec, prefix);
        const offsets = results.map((r) => r.offset);
        t.same(received(a.rec, topic).map((p) => p.offset), offsets, 'publishing node (one pattern): once, in order');
        t.same(collapsed(received(b.rec, topic)), offsets, 'other node (two patterns): in order, copies only right after the original');
        t.same((await b.engine.history(topic, { limit: 20 })).publications.map((p) => p.offset), offsets, 'shared history');
        const retry = await b.engine.publish(topic, json(0), { ...keep(20), idempotencyKey: 'k' });
        t.equal((await a.engine.publish(topic, json(0), { ...keep(20), idempotencyKey: 'k' })).offset, retry.offset);
      });

      t.test('subscriptions are per node', async (t) => {
        const a = await node(t);
        const b = await node(t);
        const prefix = uniquePrefix();
        const topic = `${prefix}.t`;
        await a.engine.subscribe(topic);
        await b.engine.subscribe(topic);
        await b.engine.unsubscribe(topic);
        await b.engine.publish(topic, json(1), normal);
        await eventually(() => received(a.rec, topic).length === 1, 'node a');
        await settle(b.engine, b.rec, prefix);
        t.equal(received(b.rec, topic).length, 0, 'node b unsubscribed');
      });
    });

    t.test('lifecycle', async (t) => {
      t.test('before start, methods reject with ERR_BROKER_ENGINE_NOT_STARTED and readiness is false', async (t) => {
        const engine = await makeEngine();
        t.teardown(() => engine.close());
        t.equal(await engine.ready(), false);
        const code = BrokerErrorCode.engineNotStarted;
        await t.rejects(engine.publish('a', json(1), normal), { code });
        await t.rejects(engine.subscribe('a'), { code });
        await t.rejects(engine.history('a', { limit: 1 }), { code });
      });

      t.test('start twice rejects; ready after start', async (t) => {
        const { engine } = await node(t);
        t.equal(await engine.ready(), true);
        await t.rejects(engine.start({ onPublication: () => undefined }), { code: BrokerErrorCode.engineAlreadyStarted });
      });

      t.test('after close: not ready, nothing delivered, methods reject with ERR_BROKER_ENGINE_CLOSED', async (t) => {
        const closing = await node(t);
        const other = await node(t);
        const prefix = uniquePrefix();
        const topic = `${prefix}.t`;
        await closing.engine.subscribe(topic);
        await closing.engine.close();
        await closing.engine.close();
        t.pass('close is idempotent');
        t.equal(await closing.engine.ready(), false);
        await other.engine.publish(topic, json(1), normal);
        await settle(other.engine, other.rec, prefix);
        t.equal(closing.rec.publications.length, 0, 'a closed node receives nothing');
        const code = BrokerErrorCode.engineClosed;
        await t.rejects(closing.engine.publish(topic, json(1), normal), { code });
        await t.rejects(closing.engine.subscribe(topic), { code });
        await t.rejects(closing.engine.history(topic, { limit: 1 }), { code });
        await t.rejects(closing.engine.start({ onPublication: () => undefined }), { code });
      });
    });

    t.test('outage', async (t) => {
      t.test('publishes fail loudly, readiness drops, and delivery resumes without resubscribing', async (t) => {
        const { engine, rec } = await node(t);
        const prefix = uniquePrefix();
        const before = `${prefix}.before`;
        const during = `${prefix}.during`;
        await engine.subscribe(before);
        await options.outage.begin();
        let ended = false;
        t.teardown(async () => {
          if (!ended) await options.outage.end();
        });
        await eventually(async () => !(await engine.ready()), 'readiness to drop');
        await eventually(() => rec.interruptions.length > 0, 'onInterrupted');
        t.equal(rec.interruptions[0]?.code, BrokerErrorCode.engineUnavailable);
        const code = BrokerErrorCode.engineUnavailable;
        await t.rejects(engine.publish(before, json('lost?'), normal), { code }, 'publish: an error, never a silent loss');
        await t.rejects(engine.history(before, { limit: 1 }), { code });
        await t.rejects(engine.subscribe(during), { code }, 'subscribe reports the outage');
        await options.outage.end();
        ended = true;
        await eventually(() => engine.ready(), 'readiness to recover');
        await eventually(() => rec.resumed > 0, 'onResumed');
        await engine.publish(before, json(1), normal);
        await engine.publish(during, json(2), normal);
        await eventually(
          () => received(rec, before).length === 1 && received(rec, during).length === 1,
          'delivery on patterns subscribed before and during the outage',
        );
        t.pass();
      });
    });
  });
}
