import t from 'tap';
import type { PresenceEntry, PresenceHistory, Publication } from '../../src/engine/engine.js';
import { planRecovery, recoveryTurnedOff, type RecoveryRead } from '../../src/history/recovery-plan.js';
import { type StreamItem, coveredBy, isPresenceEntry, mergeStream } from '../../src/history/stream-items.js';

/** Recovery with `since.seq` (protocol.md §13.4): publications and presence entries merged by (offset, seq). */

const E = 'e1';

function publication(offset: number): Publication {
  return { topic: 'room', offset, epoch: E, priority: 'normal', time: 0, payload: { encoding: 'json', text: 'x'.repeat(10) } };
}

function join(offset: number, seq: number, first = true): PresenceEntry {
  return { topic: 'room', offset, epoch: E, seq, time: 0, kind: 'join', member: { connectionId: `c${seq}`, user: 'u' }, first };
}

function leave(offset: number, seq: number, last = true): PresenceEntry {
  return { topic: 'room', offset, epoch: E, seq, time: 0, kind: 'leave', member: { connectionId: `c${seq}`, user: 'u' }, last, reason: 'left' };
}

function read(publications: Publication[], offset: number, presence: Partial<PresenceHistory> & { seq: number }): RecoveryRead {
  const { seq, ...rest } = presence;
  return {
    publications,
    position: { offset, epoch: E },
    recovered: true,
    presence: { entries: [], position: { offset, epoch: E, seq }, recovered: true, ...rest },
  };
}

const label = (item: StreamItem): string => (isPresenceEntry(item) ? `${item.kind}@${item.offset}.${item.seq}` : `pub${item.offset}`);

t.test('merge: entries after the publication they follow; entries anchored below since come first', async (t) => {
  const merged = mergeStream([publication(3), publication(4)], [join(2, 5), join(3, 6), leave(3, 7), join(4, 8)]);
  t.same(merged.map(label), ['join@2.5', 'pub3', 'join@3.6', 'leave@3.7', 'pub4', 'join@4.8']);
});

t.test('recovered: the merged replay, presence recovered at the current seq', async (t) => {
  const plan = planRecovery(read([publication(3)], 3, { seq: 6, entries: [join(2, 5), leave(3, 6)] }), { offset: 2, epoch: E, seq: 4 }, { maxMessages: 10 });
  t.same(plan.replay.map(label), ['join@2.5', 'pub3', 'leave@3.6']);
  t.same(plan.result, { status: 'recovered', epoch: E, offset: 3, presence: { status: 'recovered', seq: 6 } });
  t.equal(plan.presenceLost, undefined);
});

t.test('level user: entries that are not first in or last out are left out, yet covered', async (t) => {
  const entries = [join(2, 5, false), join(2, 6, true), leave(2, 7, false)];
  const plan = planRecovery(read([], 2, { seq: 7, entries }), { offset: 2, epoch: E, seq: 4 }, { maxMessages: 10, level: 'user' });
  t.same(plan.replay.map(label), ['join@2.6']);
  t.match(plan.result, { status: 'recovered', presence: { status: 'recovered', seq: 7 } });
});

t.test('trimmed presence history: presence fails expired, messages still recover', async (t) => {
  const plan = planRecovery(read([publication(3)], 3, { seq: 9, recovered: false, recoveryFailure: 'expired' }), { offset: 2, epoch: E, seq: 1 }, { maxMessages: 10 });
  t.same(plan.replay.map(label), ['pub3']);
  t.same(plan.result, { status: 'recovered', epoch: E, offset: 3, presence: { status: 'failed', reason: 'expired', seq: 9 } });
  t.same(plan.presenceLost, { epoch: E, seq: 9 });
});

t.test('a byte cut inside the merge fails what lies past it', async (t) => {
  const history = read([publication(3), publication(4)], 4, { seq: 6, entries: [join(3, 5), join(4, 6)] });
  const weigh = () => 10;
  const presenceCut = planRecovery(history, { offset: 2, epoch: E, seq: 4 }, { maxMessages: 10, maxBytes: 30, weigh });
  t.same(presenceCut.replay.map(label), ['pub3', 'join@3.5', 'pub4']);
  t.match(presenceCut.result, { status: 'recovered', offset: 4, presence: { status: 'failed', reason: 'expired', seq: 6 } }, 'the last entry did not fit');
  const bothCut = planRecovery(history, { offset: 2, epoch: E, seq: 4 }, { maxMessages: 10, maxBytes: 20, weigh });
  t.match(bothCut.result, { status: 'failed', reason: 'expired', presence: { status: 'failed', reason: 'expired' } });
  t.same(bothCut.lost, { epoch: E, from: 4, to: 4 });
});

t.test('fewer entries than the stream has (the read limit): presence fails expired', async (t) => {
  const plan = planRecovery(read([], 2, { seq: 9, entries: [join(2, 5)] }), { offset: 2, epoch: E, seq: 4 }, { maxMessages: 10 });
  t.match(plan.result, { status: 'recovered', presence: { status: 'failed', reason: 'expired', seq: 9 } });
});

t.test('without since.seq the presence part is ignored', async (t) => {
  const plan = planRecovery(read([publication(3)], 3, { seq: 6, entries: [join(3, 6)] }), { offset: 2, epoch: E }, { maxMessages: 10 });
  t.same(plan.replay.map(label), ['pub3']);
  t.notOk('presence' in plan.result);
});

t.test('recovery turned off: presence fails no_history at the current seq', async (t) => {
  const plan = recoveryTurnedOff(read([], 3, { seq: 6 }), 2);
  t.same(plan.result, { status: 'failed', reason: 'no_history', epoch: E, offset: 3, presence: { status: 'failed', reason: 'no_history', seq: 6 } });
});

t.test('coveredBy: entries by seq, and only by a position that names one', async (t) => {
  t.ok(coveredBy(join(9, 5), { offset: 0, epoch: E, seq: 5 }), 'seq at the position: covered, whatever the offset');
  t.notOk(coveredBy(join(0, 6), { offset: 9, epoch: E, seq: 5 }));
  t.notOk(coveredBy(join(0, 1), { offset: 9, epoch: E }), 'a position without seq covers no entry');
  t.ok(coveredBy(publication(3), { offset: 3, epoch: E, seq: 0 }));
});
