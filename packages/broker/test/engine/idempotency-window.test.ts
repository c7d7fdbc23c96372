import t from 'tap';
import { IdempotencyWindow } from '../../src/engine/idempotency-window.js';

function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

t.test('a key is remembered for the window, then forgotten', async (t) => {
  const clock = manualClock();
  const window = new IdempotencyWindow<string>({ windowMs: 100, maxKeys: 10, now: clock.now });
  window.remember('k', 'first');
  clock.advance(99);
  t.equal(window.get('k'), 'first');
  clock.advance(1);
  t.equal(window.get('k'), undefined);
  t.equal(window.size, 0, 'expired keys are swept');
});

t.test('beyond maxKeys the oldest key is forgotten early', async (t) => {
  const clock = manualClock();
  const window = new IdempotencyWindow<number>({ windowMs: 1_000, maxKeys: 2, now: clock.now });
  window.remember('a', 1);
  window.remember('b', 2);
  window.remember('c', 3);
  t.equal(window.size, 2);
  t.equal(window.get('a'), undefined);
  t.equal(window.get('c'), 3);
  const none = new IdempotencyWindow<number>({ windowMs: 1_000, maxKeys: 0, now: clock.now });
  none.remember('a', 1);
  t.equal(none.get('a'), undefined, 'maxKeys 0 disables deduplication');
});

t.test('remembering a key again restarts its window', async (t) => {
  const clock = manualClock();
  const window = new IdempotencyWindow<number>({ windowMs: 100, maxKeys: 10, now: clock.now });
  window.remember('a', 1);
  clock.advance(50);
  window.remember('b', 2);
  window.remember('a', 3);
  clock.advance(60);
  t.equal(window.get('a'), 3);
  t.equal(window.get('b'), 2);
});

t.test('invalid options are rejected', async (t) => {
  const now = (): number => 0;
  t.throws(() => new IdempotencyWindow({ windowMs: -1, maxKeys: 1, now }), RangeError);
  t.throws(() => new IdempotencyWindow({ windowMs: 1, maxKeys: 1.5, now }), RangeError);
});
