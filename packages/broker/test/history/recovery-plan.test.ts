import fc from 'fast-check';
import t from 'tap';
import type { HistoryResult, Publication, RecoveryFailure, StreamPosition } from '../../src/engine/engine.js';
import { type RecoveryLimits, type RecoveryPlan, coveredBy, planRecovery, recoveryTurnedOff } from '../../src/history/recovery-plan.js';
import type { StreamItem } from '../../src/history/stream-items.js';

/** The recovery plan: what a history read, a `since` and the limits make of one topic (protocol.md §8.2, §8.3). */

const E = 'e1';

function publication(offset: number, epoch = E, bytes = 10): Publication {
  return { topic: 'feed', offset, epoch, priority: 'normal', time: 0, payload: { encoding: 'json', text: 'x'.repeat(bytes) } };
}

/** Publications `from`..`to` of epoch `E`. */
function range(from: number, to: number): Publication[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => publication(from + index));
}

function recovered(publications: readonly Publication[], offset: number, epoch = E): HistoryResult {
  return { publications, position: { offset, epoch }, recovered: true };
}

function notRecovered(failure: RecoveryFailure | undefined, offset: number, epoch = E): HistoryResult {
  return { publications: [], position: { offset, epoch }, recovered: false, ...(failure === undefined ? {} : { recoveryFailure: failure }) };
}

const weighText: RecoveryLimits['weigh'] = (item) => ('payload' in item ? (item.payload.encoding === 'json' ? item.payload.text.length : item.payload.bytes.length) : 0);

interface Case {
  readonly name: string;
  readonly history: HistoryResult;
  readonly since: StreamPosition;
  readonly limits: RecoveryLimits;
  readonly expected: {
    readonly result: RecoveryPlan['result'];
    /** Offsets replayed. */
    readonly replay: readonly number[];
    readonly replayBytes: number;
    readonly lost?: RecoveryPlan['lost'];
  };
}

const at = (offset: number, epoch = E): StreamPosition => ({ offset, epoch });
const messages = (maxMessages: number): RecoveryLimits => ({ maxMessages });

const cases: readonly Case[] = [
  {
    name: 'nothing missed: recovered, empty replay',
    history: recovered([], 5),
    since: at(5),
    limits: messages(10),
    expected: { result: { status: 'recovered', epoch: E, offset: 5 }, replay: [], replayBytes: 0 },
  },
  {
    name: 'nothing published yet (offset 0): recovered',
    history: recovered([], 0),
    since: at(0),
    limits: messages(10),
    expected: { result: { status: 'recovered', epoch: E, offset: 0 }, replay: [], replayBytes: 0 },
  },
  {
    name: 'everything missed is in history: recovered, all replayed',
    history: recovered(range(3, 5), 5),
    since: at(2),
    limits: messages(10),
    expected: { result: { status: 'recovered', epoch: E, offset: 5 }, replay: [3, 4, 5], replayBytes: 0 },
  },
  {
    name: 'exactly the message limit: recovered',
    history: recovered(range(3, 5), 5),
    since: at(2),
    limits: messages(3),
    expected: { result: { status: 'recovered', epoch: E, offset: 5 }, replay: [3, 4, 5], replayBytes: 0 },
  },
  {
    name: 'the read stopped at the message limit: cut, expired, the rest lost',
    history: recovered(range(2, 3), 6),
    since: at(1),
    limits: messages(2),
    expected: { result: { status: 'failed', reason: 'expired', epoch: E, offset: 6 }, replay: [2, 3], replayBytes: 0, lost: { epoch: E, from: 4, to: 6 } },
  },
  {
    name: 'the engine returned more than the limit: cut at the limit',
    history: recovered(range(2, 6), 6),
    since: at(1),
    limits: messages(2),
    expected: { result: { status: 'failed', reason: 'expired', epoch: E, offset: 6 }, replay: [2, 3], replayBytes: 0, lost: { epoch: E, from: 4, to: 6 } },
  },
  {
    name: 'a message limit of 0 with something missed: nothing replayed, all lost',
    history: recovered([], 4),
    since: at(1),
    limits: messages(0),
    expected: { result: { status: 'failed', reason: 'expired', epoch: E, offset: 4 }, replay: [], replayBytes: 0, lost: { epoch: E, from: 2, to: 4 } },
  },
  {
    name: 'a message limit of 0 with nothing missed: recovered',
    history: recovered([], 4),
    since: at(4),
    limits: messages(0),
    expected: { result: { status: 'recovered', epoch: E, offset: 4 }, replay: [], replayBytes: 0 },
  },
  {
    name: 'within the byte budget: recovered, bytes counted',
    history: recovered(range(3, 5), 5),
    since: at(2),
    limits: { maxMessages: 10, maxBytes: 30, weigh: weighText },
    expected: { result: { status: 'recovered', epoch: E, offset: 5 }, replay: [3, 4, 5], replayBytes: 30 },
  },
  {
    name: 'over the byte budget: cut before the first that does not fit',
    history: recovered(range(3, 5), 5),
    since: at(2),
    limits: { maxMessages: 10, maxBytes: 29, weigh: weighText },
    expected: { result: { status: 'failed', reason: 'expired', epoch: E, offset: 5 }, replay: [3, 4], replayBytes: 20, lost: { epoch: E, from: 5, to: 5 } },
  },
  {
    name: 'the first publication does not fit: nothing replayed, all lost',
    history: recovered(range(3, 5), 5),
    since: at(2),
    limits: { maxMessages: 10, maxBytes: 9, weigh: weighText },
    expected: { result: { status: 'failed', reason: 'expired', epoch: E, offset: 5 }, replay: [], replayBytes: 0, lost: { epoch: E, from: 3, to: 5 } },
  },
  {
    name: 'a budget of 0 and nothing missed: recovered',
    history: recovered([], 5),
    since: at(5),
    limits: { maxMessages: 10, maxBytes: 0, weigh: weighText },
    expected: { result: { status: 'recovered', epoch: E, offset: 5 }, replay: [], replayBytes: 0 },
  },
  {
    name: 'both limits: the tighter one cuts (messages)',
    history: recovered(range(2, 5), 5),
    since: at(1),
    limits: { maxMessages: 1, maxBytes: 1000, weigh: weighText },
    expected: { result: { status: 'failed', reason: 'expired', epoch: E, offset: 5 }, replay: [2], replayBytes: 10, lost: { epoch: E, from: 3, to: 5 } },
  },
  {
    name: 'without weigh a byte limit weighs nothing',
    history: recovered(range(2, 5), 5),
    since: at(1),
    limits: { maxMessages: 10, maxBytes: 0 },
    expected: { result: { status: 'recovered', epoch: E, offset: 5 }, replay: [2, 3, 4, 5], replayBytes: 0 },
  },
  {
    name: 'history trimmed past since: expired, all lost',
    history: notRecovered('expired', 9),
    since: at(3),
    limits: messages(10),
    expected: { result: { status: 'failed', reason: 'expired', epoch: E, offset: 9 }, replay: [], replayBytes: 0, lost: { epoch: E, from: 4, to: 9 } },
  },
  {
    name: 'a publication after since was never kept: no_history, all lost',
    history: notRecovered('no_history', 4),
    since: at(1),
    limits: messages(10),
    expected: { result: { status: 'failed', reason: 'no_history', epoch: E, offset: 4 }, replay: [], replayBytes: 0, lost: { epoch: E, from: 2, to: 4 } },
  },
  {
    name: 'another epoch: epoch_mismatch, no range to announce',
    history: notRecovered('epoch_mismatch', 7, 'e2'),
    since: at(3),
    limits: messages(10),
    expected: { result: { status: 'failed', reason: 'epoch_mismatch', epoch: 'e2', offset: 7 }, replay: [], replayBytes: 0 },
  },
  {
    name: 'since ahead of the stream: epoch_mismatch, nothing lost',
    history: notRecovered('epoch_mismatch', 2),
    since: at(5),
    limits: messages(10),
    expected: { result: { status: 'failed', reason: 'epoch_mismatch', epoch: E, offset: 2 }, replay: [], replayBytes: 0 },
  },
  {
    name: 'a failure without a reason reads as epoch_mismatch',
    history: notRecovered(undefined, 4, 'e2'),
    since: at(1),
    limits: messages(10),
    expected: { result: { status: 'failed', reason: 'epoch_mismatch', epoch: 'e2', offset: 4 }, replay: [], replayBytes: 0 },
  },
  {
    name: 'a failure in the same epoch at since: nothing lost',
    history: notRecovered('expired', 3),
    since: at(3),
    limits: messages(10),
    expected: { result: { status: 'failed', reason: 'expired', epoch: E, offset: 3 }, replay: [], replayBytes: 0 },
  },
];

for (const { name, history, since, limits, expected } of cases) {
  t.test(name, async (t) => {
    const plan = planRecovery(history, since, limits);
    t.same(plan.result, expected.result, 'result');
    t.same(
      plan.replay.map((p) => p.offset),
      expected.replay,
      'replay',
    );
    t.equal(plan.replayBytes, expected.replayBytes, 'replayBytes');
    t.same(plan.lost, expected.lost, 'lost');
  });
}

t.test('a whole replay is handed back as read, not copied', async (t) => {
  const history = recovered(range(2, 4), 4);
  t.equal(planRecovery(history, at(1), messages(10)).replay, history.publications);
});

t.test('weigh is asked only up to the cut', async (t) => {
  const weighed: number[] = [];
  planRecovery(recovered(range(2, 9), 9), at(1), {
    maxMessages: 100,
    maxBytes: 25,
    weigh: (p) => {
      weighed.push(p.offset);
      return 10;
    },
  });
  t.same(weighed, [2, 3, 4]);
});

t.test('property: loss is never silent and nothing is claimed twice', async (t) => {
  fc.assert(
    fc.property(
      fc.nat(50),
      fc.nat(50),
      fc.nat(60),
      fc.option(fc.nat(400), { nil: undefined }),
      fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 60, maxLength: 60 }),
      (sinceOffset, missed, maxMessages, maxBytes, sizes) => {
        const current = sinceOffset + missed;
        const history = recovered(range(sinceOffset + 1, current), current);
        const weigh = (p: StreamItem) => sizes[(p.offset - sinceOffset - 1) % sizes.length] as number;
        const plan = planRecovery(history, at(sinceOffset), { maxMessages, ...(maxBytes === undefined ? {} : { maxBytes }), weigh });
        const offsets = plan.replay.map((p) => p.offset);
        if (offsets.some((offset, index) => offset !== sinceOffset + 1 + index)) throw new Error('the replay is not the prefix after since');
        if (offsets.length > maxMessages) throw new Error('over the message limit');
        if (maxBytes !== undefined && plan.replayBytes > maxBytes) throw new Error('over the byte limit');
        // Replay and lost range together cover since+1..current exactly.
        const reached = offsets.at(-1) ?? sinceOffset;
        if (plan.result.status === 'recovered') {
          if (reached !== current || plan.lost !== undefined) throw new Error('recovered without replaying everything');
        } else if (plan.result.reason !== 'expired' || plan.lost?.from !== reached + 1 || plan.lost.to !== current) {
          throw new Error(`cut replay misreported: ${JSON.stringify(plan.result)} ${JSON.stringify(plan.lost)}`);
        }
      },
    ),
    { numRuns: 500 },
  );
  t.pass('replay + lost always cover since+1..current, within the limits');
});

t.test('coveredBy: at or before a position of the same epoch', async (t) => {
  t.ok(coveredBy(at(3), at(3)));
  t.ok(coveredBy(at(2), at(3)));
  t.notOk(coveredBy(at(4), at(3)));
  t.notOk(coveredBy(at(1, 'e2'), at(3)), 'another epoch is never covered');
});

t.test('recovery turned off (a namespace): failed with no_history at the current position, nothing replayed', async (t) => {
  t.same(recoveryTurnedOff(recovered(range(1, 5), 5)), { result: { status: 'failed', reason: 'no_history', epoch: E, offset: 5 }, replay: [], replayBytes: 0 });
});
