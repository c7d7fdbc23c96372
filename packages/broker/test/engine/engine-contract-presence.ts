import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import type { Engine, EnginePresence, PresenceEntry, PresenceOptions, Payload } from '../../src/engine/engine.js';
import { BrokerErrorCode } from '../../src/errors.js';

/**
 * How the contract drives an engine's presence: nodes sharing one backend whose clock the suite controls, so
 * liveness bounds are checked without waiting for wall time. An engine that does not implement presence yet
 * says so with `unsupported` (the suite then asserts that its `presence` is undefined): never a silent skip.
 */
export type PresenceContractOptions =
  | {
      /** A new node of one cluster per call, on the clock that `advance` moves. */
      readonly makeEngine: () => Engine | Promise<Engine>;
      /**
       * The engine's node TTL: a crashed node's members must be gone within `nodeTtlMs * 4 / 3` of the engine's
       * clock, and at the latest 5 s of wall time later (Redis adds 1 s of slack for shard clocks).
       */
      readonly nodeTtlMs: number;
      /** Moves the engine's clock by `ms` (Redis: waits that long) and gives its periodic work (heartbeats, sweeps) a chance to run. */
      readonly advance: (ms: number) => Promise<void>;
      /** Stops a node as kill -9 would: no cleanup. */
      readonly crash: (engine: Engine) => Promise<void>;
    }
  | { readonly unsupported: string };

const uncapped: PresenceOptions = { eventRate: 0, history: { size: 100, ttlMs: 60_000 } };
const json = (value: unknown): Payload => ({ encoding: 'json', text: JSON.stringify(value) });
const uniqueTopic = (): string => `contract.presence.${randomBytes(6).toString('hex')}`;

export function runPresenceContract(t: Test, name: string, makeEngine: () => Engine | Promise<Engine>, options: PresenceContractOptions): void {
  if ('unsupported' in options) {
    t.test(`${name}: presence is declared unsupported (${options.unsupported})`, async (t) => {
      const engine = await makeEngine();
      t.teardown(() => engine.close());
      t.equal(engine.presence, undefined, 'presence undefined: the broker refuses presence instead of faking it');
    });
    return;
  }
  const hooks = options;

  interface ContractNode {
    engine: Engine;
    presence: EnginePresence;
    entries: PresenceEntry[];
    /** What `onMembersSwept` and `onNodeSwept` told this node, as `<topic> <connection> <reason>` and node ids. */
    swept: string[];
    nodesSwept: string[];
  }

  async function node(t: Test): Promise<ContractNode> {
    const engine = await hooks.makeEngine();
    const entries: PresenceEntry[] = [];
    const swept: string[] = [];
    const nodesSwept: string[] = [];
    t.teardown(() => engine.close());
    await engine.start({
      onPublication: () => undefined,
      onPresence: (entry) => entries.push(entry),
      onMembersSwept: (topic, members, reason) => swept.push(...members.map((member) => `${topic} ${member.connectionId} ${member.user ?? '-'} ${reason}`)),
      onNodeSwept: async (node) => void nodesSwept.push(node),
    });
    const { presence } = engine;
    if (presence === undefined) throw new Error('an engine run with presence hooks must implement presence');
    return { engine, presence, entries, swept, nodesSwept };
  }

  async function eventually(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
  }

  const on = (entries: readonly PresenceEntry[], topic: string): PresenceEntry[] => entries.filter((e) => e.topic === topic);
  const describe = (e: PresenceEntry): string =>
    e.kind === 'stats' ? `stats ${e.coalesced}` : `${e.kind} ${e.member.connectionId} ${e.kind === 'join' ? e.first : `${e.last} ${e.reason}`}`;

  t.test(`${name}: engine contract, presence`, async (t) => {
    t.test('joins and leaves from two nodes: one seq order at every node, counters equal members', async (t) => {
      const a = await node(t);
      const b = await node(t);
      const watcher = await node(t);
      const topic = uniqueTopic();
      await a.engine.subscribe(topic);
      await b.engine.subscribe(topic);
      await b.engine.subscribe('contract.presence.>');
      await watcher.engine.subscribe('contract.presence.>');
      await a.presence.join(topic, { connectionId: 'ca1', user: 'alice', info: '{"name":"A"}' }, uncapped);
      await b.presence.join(topic, { connectionId: 'cb1', user: 'alice' }, uncapped);
      await b.presence.join(topic, { connectionId: 'cb2' }, uncapped);
      const repeated = await b.presence.join(topic, { connectionId: 'cb2' }, uncapped);
      t.equal(repeated.outcome, 'unchanged', 'a repeated join writes nothing');
      await a.presence.leave(topic, 'ca1', 'left', uncapped);
      t.equal((await a.presence.leave(topic, 'cb1', 'left', uncapped)).outcome, 'unchanged', 'a node leaves only its own members');
      const expected = ['join ca1 true', 'join cb1 false', 'join cb2 true', 'leave ca1 false left'];
      await eventually(() => on(a.entries, topic).length === 4 && on(b.entries, topic).length === 4, 'four entries at both nodes');
      t.same(on(a.entries, topic).map(describe), expected, 'node A: in order, first/last per user');
      t.same(on(b.entries, topic), on(a.entries, topic), 'node B sees the same entries, once despite its wildcard');
      t.same(on(watcher.entries, topic), [], 'a node with only a wildcard pattern gets no entries: wildcards are never members');
      t.same(on(a.entries, topic).map((e) => e.seq), [1, 2, 3, 4], 'seq dense');
      const stats = await b.presence.stats(topic);
      t.match(stats, { connections: 2, users: 1, anonymous: 1, seq: 4 });
      const list = await a.presence.list(topic, { maxMembers: 10 });
      t.equal(list.truncated, false);
      t.same([...(list.members ?? [])].sort((x, y) => x.connectionId.localeCompare(y.connectionId)), [{ connectionId: 'cb1', user: 'alice' }, { connectionId: 'cb2' }]);
      t.same(await b.presence.ownMembers(topic), ['cb1', 'cb2']);
      t.same(await a.presence.ownMembers(topic), []);
      const truncated = await a.presence.list(topic, { maxMembers: 1 });
      t.match(truncated, { truncated: true, counts: { connections: 2 } });
      t.notOk('members' in truncated, 'beyond maxMembers: counters only');
    });

    t.test('entries sit between publications by offset; one history read recovers both', async (t) => {
      const a = await node(t);
      const topic = uniqueTopic();
      await a.engine.subscribe(topic);
      const kept = { priority: 'normal', history: { size: 10, ttlMs: 60_000 } } as const;
      await a.engine.publish(topic, json(1), kept);
      const join = await a.presence.join(topic, { connectionId: 'c1' }, uncapped);
      await a.engine.publish(topic, json(2), kept);
      const leave = await a.presence.leave(topic, 'c1', 'disconnected', uncapped);
      t.match(join.position, { offset: 1, seq: 1 });
      t.match(leave.position, { offset: 2, seq: 2, epoch: join.position.epoch });
      const { epoch } = join.position;
      const replay = await a.presence.history(topic, { since: { epoch, offset: 1 }, presenceSince: 1, limit: 10 });
      t.equal(replay.recovered, true, 'publications recovered');
      t.same(replay.publications.map((p) => p.offset), [2]);
      t.equal(replay.presence.recovered, true, 'presence recovered');
      t.same(replay.presence.entries.map(describe), ['leave c1 true disconnected']);
      t.match(replay.presence.position, { offset: 2, seq: 2 });
      const other = await a.presence.history(topic, { since: { epoch: 'other', offset: 0 }, presenceSince: 0, limit: 10 });
      t.match(other, { recovered: false, recoveryFailure: 'epoch_mismatch', presence: { recovered: false, recoveryFailure: 'epoch_mismatch' } }, 'another epoch fails both');
      const short: PresenceOptions = { eventRate: 0, history: { size: 1, ttlMs: 60_000 } };
      await a.presence.join(topic, { connectionId: 'c2' }, short);
      await a.presence.join(topic, { connectionId: 'c3' }, short);
      const trimmed = await a.presence.history(topic, { since: { epoch, offset: 1 }, presenceSince: 2, limit: 10 });
      t.match(trimmed, { recovered: true, presence: { recovered: false, recoveryFailure: 'expired' } }, 'trimmed presence fails presence only');
    });

    t.test('the rate cap coalesces into one stats entry: entries + coalesced = changes', async (t) => {
      const a = await node(t);
      const topic = uniqueTopic();
      await a.engine.subscribe(topic);
      const capped: PresenceOptions = { eventRate: 2, history: { size: 100, ttlMs: 60_000 } };
      const writes = [];
      for (let i = 0; i < 5; i++) writes.push(await a.presence.join(topic, { connectionId: `c${i}` }, capped));
      t.same(writes.map((w) => w.outcome), ['written', 'written', 'coalesced', 'coalesced', 'coalesced']);
      const flushAt = writes[4]?.flushAt;
      t.ok(flushAt !== undefined && writes.slice(2).every((w) => w.flushAt === flushAt), 'one flush time for the window');
      await a.presence.flush(topic, capped);
      t.equal(on(a.entries, topic).length, 2, 'no flush before the window ends');
      await hooks.advance(1000);
      await a.presence.flush(topic, capped);
      await eventually(() => on(a.entries, topic).length === 3, 'the stats entry');
      t.match(on(a.entries, topic)[2], { kind: 'stats', seq: 3, coalesced: 3, counts: { connections: 5, users: 0, anonymous: 5 } });
      t.match(await a.presence.stats(topic), { connections: 5, seq: 3 });
    });

    t.test("a crashed node's members leave with expired entries within the bound", async (t) => {
      const a = await node(t);
      const b = await node(t);
      const topic = uniqueTopic();
      await a.engine.subscribe(topic);
      await b.presence.join(topic, { connectionId: 'b1', user: 'bob' }, uncapped);
      await b.presence.join(topic, { connectionId: 'b2', user: 'bob' }, uncapped);
      await a.presence.join(topic, { connectionId: 'a1' }, uncapped);
      await hooks.crash(b.engine);
      await hooks.advance(hooks.nodeTtlMs / 2);
      t.match(await a.presence.stats(topic), { connections: 3 }, 'before the TTL: still members');
      await hooks.advance(hooks.nodeTtlMs / 2 + hooks.nodeTtlMs / 3);
      await eventually(() => on(a.entries, topic).length === 5, 'two leaves');
      t.same(on(a.entries, topic).slice(3).map(describe), ['leave b1 false expired', 'leave b2 true expired']);
      t.match(await a.presence.stats(topic), { connections: 1, users: 0, anonymous: 1 });
      await t.rejects(b.presence.join(topic, { connectionId: 'b3' }, uncapped), { code: BrokerErrorCode.engineUnavailable }, 'a dead node never writes');
    });

    t.test("a crashed node's members, then the node, are reported swept to one surviving node, once", async (t) => {
      const [a, c] = [await node(t), await node(t)];
      const b = await node(t);
      const topic = uniqueTopic();
      await b.presence.join(topic, { connectionId: 'b1', user: 'bob' }, uncapped);
      await b.presence.join(topic, { connectionId: 'b2' }, uncapped);
      await hooks.crash(b.engine);
      await hooks.advance(hooks.nodeTtlMs + hooks.nodeTtlMs / 3);
      // Other tests' crashed nodes share the backend: only b and its topic count here.
      const reports = (): string[] => [...a.nodesSwept, ...c.nodesSwept].filter((id) => id === b.engine.nodeId);
      const members = (n: ContractNode): string[] => n.swept.filter((line) => line.startsWith(`${topic} `)).sort();
      await eventually(() => reports().length > 0, 'the node swept');
      const sweeper = a.nodesSwept.includes(b.engine.nodeId) ? a : c;
      t.same(members(sweeper), [`${topic} b1 bob expired`, `${topic} b2 - expired`], 'the node that reports it swept reports each member, expired');
      t.same(members(sweeper === a ? c : a), [], 'the other reports none');
      await hooks.advance(hooks.nodeTtlMs);
      t.same(reports(), [b.engine.nodeId], 'the node is reported once');
      t.equal(members(a).length + members(c).length, 2, 'and its members once');
    });

    t.test('unregister and close remove a node’s members at once, disconnected', async (t) => {
      const a = await node(t);
      const b = await node(t);
      const c = await node(t);
      const topic = uniqueTopic();
      await a.engine.subscribe(topic);
      await b.presence.join(topic, { connectionId: 'b1' }, uncapped);
      await c.presence.join(topic, { connectionId: 'c1' }, uncapped);
      await b.presence.unregister();
      await eventually(() => on(a.entries, topic).length === 3, 'the leave after unregister');
      t.same(b.swept, [`${topic} b1 - disconnected`], 'a member its registry did not leave is reported to the node itself');
      await c.engine.close();
      await eventually(() => on(a.entries, topic).length === 4, 'the leave after close');
      t.same(on(a.entries, topic).slice(2).map(describe), ['leave b1 true disconnected', 'leave c1 true disconnected']);
      t.match(await a.presence.stats(topic), { connections: 0 });
    });

    t.test('invalid topics and settings are rejected', async (t) => {
      const a = await node(t);
      for (const topic of ['', 'a.*', 'a.>']) {
        await t.rejects(a.presence.join(topic, { connectionId: 'c' }, uncapped), { code: BrokerErrorCode.invalidTopic }, `join ${JSON.stringify(topic)}`);
        await t.rejects(a.presence.stats(topic), { code: BrokerErrorCode.invalidTopic }, `stats ${JSON.stringify(topic)}`);
      }
      await t.rejects(a.presence.join(uniqueTopic(), { connectionId: 'c' }, { eventRate: -1, history: uncapped.history }), RangeError);
      await t.rejects(a.presence.list(uniqueTopic(), { maxMembers: -1 }), RangeError);
    });
  });
}
