import fc from 'fast-check';
import t from 'tap';
import { type Expiring, ExpirySchedule } from '../../src/connection/expiry-schedule.js';

/** One timer for many expiries: each told once its time has come on the schedule's clock, in time order. */

function item(name: string, expiryTime: number, told: string[], onExpired?: () => void): Expiring {
  return {
    expiryTime,
    expiryIndex: -1,
    expired() {
      told.push(name);
      onExpired?.();
    },
  };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('items are told in time order once the clock passes their time, and not before', async (t) => {
  let clock = 1000;
  const schedule = new ExpirySchedule(() => clock);
  const told: string[] = [];
  const late = item('late', 1030, told);
  schedule.add(late);
  schedule.add(item('early', 1010, told));
  schedule.add(item('middle', 1020, told));
  t.equal(schedule.size, 3);
  clock = 1020;
  await wait(30);
  t.same(told, ['early', 'middle'], 'the clock is at 1020: the late one waits');
  t.equal(schedule.size, 1);
  t.equal(late.expiryIndex, 0);
  clock = 1030;
  await wait(50);
  t.same(told, ['early', 'middle', 'late']);
  t.equal(late.expiryIndex, -1, 'let go before it is told');
  t.equal(schedule.size, 0);
});

t.test('a removed item is never told; removing one that is not in changes nothing', async (t) => {
  let clock = 0;
  const schedule = new ExpirySchedule(() => clock);
  const told: string[] = [];
  const first = item('first', 5, told);
  schedule.add(first);
  schedule.add(item('second', 5, told));
  schedule.remove(first);
  schedule.remove(first);
  clock = 10;
  await wait(30);
  t.same(told, ['second']);
});

t.test('an item told may add and remove others', async (t) => {
  let clock = 0;
  const schedule = new ExpirySchedule(() => clock);
  const told: string[] = [];
  const victim = item('victim', 2, told);
  schedule.add(item('adder', 1, told, () => {
    schedule.remove(victim);
    schedule.add(item('added', 3, told));
  }));
  schedule.add(victim);
  clock = 5;
  await wait(30);
  t.same(told, ['adder', 'added']);
});

t.test('property: the heap tells exactly the items left in, earliest first', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 60 }), (entries) => {
      let clock = 0;
      const schedule = new ExpirySchedule(() => clock);
      const told: string[] = [];
      const items = entries.map(([time], index) => item(String(index), time, told));
      for (const one of items) schedule.add(one);
      for (const [index, [, removed]] of entries.entries()) if (removed) schedule.remove(items[index] as Expiring);
      const kept = items.filter((_, index) => !(entries[index] as [number, boolean])[1]);
      // The clock past every time, the timer's wake-up (called here rather than awaited) tells all.
      clock = 100;
      (schedule as unknown as { fire(): void }).fire();
      const times = told.map((name) => (entries[Number(name)] as [number, boolean])[0]);
      return told.length === kept.length && times.every((time, index) => index === 0 || (times[index - 1] as number) <= time) && schedule.size === 0;
    }),
  );
});
