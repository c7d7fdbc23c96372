import fc from 'fast-check';
import t from 'tap';
import { TokenBucket } from '../../src/limits/token-bucket.js';

function manualClock(start = 0): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms), set: (ms) => void (time = ms) };
}

t.test('a new bucket allows a burst of `capacity`, then refuses', async (t) => {
  const clock = manualClock();
  const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 1, now: clock.now });
  t.equal(bucket.tryTake(), true);
  t.equal(bucket.tryTake(), true);
  t.equal(bucket.tryTake(), true);
  t.equal(bucket.tryTake(), false);
  t.equal(bucket.available, 0);
});

t.test('tokens refill continuously at refillPerSecond, capped at capacity', async (t) => {
  const clock = manualClock(1_000);
  const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 4, now: clock.now, initialTokens: 0 });
  t.equal(bucket.tryTake(), false);
  clock.advance(249);
  t.equal(bucket.tryTake(), false, '0.996 tokens is not one');
  clock.advance(1);
  t.equal(bucket.tryTake(), true, '250 ms at 4/s is one token');
  clock.advance(60_000);
  t.equal(bucket.available, 10, 'never above capacity');
});

t.test('tryTake(n) is all or nothing', async (t) => {
  const clock = manualClock();
  const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now: clock.now });
  t.equal(bucket.tryTake(6), false, 'more than capacity never succeeds');
  t.equal(bucket.tryTake(4), true);
  t.equal(bucket.tryTake(2), false);
  t.equal(bucket.available, 1, 'a refused take takes nothing');
  t.equal(bucket.tryTake(0), true);
});

t.test('msUntilAvailable gives the Retry-After delay', async (t) => {
  const clock = manualClock();
  const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 4, now: clock.now, initialTokens: 0 });
  t.equal(bucket.msUntilAvailable(), 250);
  t.equal(bucket.msUntilAvailable(2), 500);
  t.equal(bucket.msUntilAvailable(3), Number.POSITIVE_INFINITY, 'above capacity');
  clock.advance(250);
  t.equal(bucket.msUntilAvailable(), 0);
  const frozen = new TokenBucket({ capacity: 1, refillPerSecond: 0, now: clock.now, initialTokens: 0 });
  t.equal(frozen.msUntilAvailable(), Number.POSITIVE_INFINITY, 'no refill');
});

t.test('a clock that goes backwards adds no tokens', async (t) => {
  const clock = manualClock(10_000);
  const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now: clock.now, initialTokens: 0 });
  clock.set(0);
  t.equal(bucket.available, 0);
  clock.set(1_000);
  t.equal(bucket.available, 1, 'time counts again from where the clock went');
});

t.test('invalid options and counts are rejected', async (t) => {
  const now = (): number => 0;
  t.throws(() => new TokenBucket({ capacity: 0, refillPerSecond: 1, now }), RangeError);
  t.throws(() => new TokenBucket({ capacity: Number.NaN, refillPerSecond: 1, now }), RangeError);
  t.throws(() => new TokenBucket({ capacity: 1, refillPerSecond: -1, now }), RangeError);
  t.throws(() => new TokenBucket({ capacity: 1, refillPerSecond: 1, now, initialTokens: 2 }), RangeError);
  const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1, now });
  t.throws(() => bucket.tryTake(-1), RangeError);
  t.throws(() => bucket.tryTake(Number.NaN), RangeError);
});

t.test('property: takes within any window never exceed capacity + rate × window', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 0, max: 50 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 5 })), { maxLength: 100 }),
      (capacity, refillPerSecond, steps) => {
        const clock = manualClock();
        const bucket = new TokenBucket({ capacity, refillPerSecond, now: clock.now });
        let taken = 0;
        for (const [advanceMs, n] of steps) {
          clock.advance(advanceMs);
          if (bucket.tryTake(n)) taken += n;
          if (bucket.available < 0 || bucket.available > capacity) return false;
        }
        return taken <= capacity + (refillPerSecond * clock.now()) / 1000 + 1e-9;
      },
    ),
  );
  t.pass('never more than the budget');
});
