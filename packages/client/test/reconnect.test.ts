import t from 'tap';
import {
  DEFAULT_RECONNECT_OPTIONS,
  Reconnector,
  backoffCeiling,
  reconnectDelay,
  resolveReconnectOptions,
} from '../src/reconnect.js';

/** A random source that returns the given values in turn. */
function sequence(...values: number[]): () => number {
  let index = 0;
  return () => {
    const value = values[index % values.length]!;
    index++;
    return value;
  };
}

const defaults = resolveReconnectOptions();

t.test('defaults: 0.5 s doubling to a 20 s ceiling, 1 s for "now", no attempt limit', async (t) => {
  t.same(defaults, { enabled: true, initialDelayMs: 500, maxDelayMs: 20_000, multiplier: 2, nowJitterMs: 1000, maxAttempts: Infinity, stableAfterMs: 5000 });
  t.same(
    Array.from({ length: 9 }, (_, attempt) => backoffCeiling(attempt, defaults)),
    [500, 1000, 2000, 4000, 8000, 16_000, 20_000, 20_000, 20_000],
  );
  t.equal(backoffCeiling(5000, defaults), 20_000, 'a huge attempt count stays at the ceiling (no Infinity/NaN)');
});

t.test('full jitter: the delay is uniform in [0, ceiling)', async (t) => {
  t.equal(reconnectDelay(0, 'backoff', defaults, () => 0), 0);
  t.equal(reconnectDelay(0, 'backoff', defaults, () => 0.5), 250);
  t.equal(reconnectDelay(0, 'backoff', defaults, () => 0.999999), 499);
  t.equal(reconnectDelay(3, 'backoff', defaults, () => 0.5), 2000);
  t.equal(reconnectDelay(10, 'backoff', defaults, () => 0.25), 5000);
  t.equal(reconnectDelay(10, 'now', defaults, () => 0.5), 500, '"now" ignores the attempt count: up to 1 s');
  t.equal(reconnectDelay(0, 'now', { ...defaults, nowJitterMs: 0 }, () => 0.7), 0);
});

t.test('the reconnector follows the close code advice of protocol.md §11', async (t) => {
  const cases: Array<[number, string]> = [
    [1006, 'backoff'],
    [1000, 'backoff'],
    [4000, 'backoff'],
    [4001, 'backoff'],
    [4099, 'backoff'],
    [4250, 'backoff'],
    [4100, 'now'],
    [4102, 'now'],
    [1001, 'now'],
    [1012, 'now'],
  ];
  for (const [code, advice] of cases) {
    const decision = new Reconnector(defaults, () => 0.5).next(code, 0);
    t.match(decision, { action: 'retry', advice, attempt: 0 }, `${code} → ${advice}`);
  }
  for (const code of [4400, 4401, 4403, 4499, 1002, 1003, 1007, 1008, 1009, 1010, 1015]) {
    t.same(new Reconnector(defaults, () => 0.5).next(code, 0), { action: 'stop', reason: 'never' }, `${code} → never reconnect`);
  }
});

t.test('consecutive failures grow the delay; an advice override wins over the code', async (t) => {
  const reconnector = new Reconnector(defaults, () => 0.5);
  const delays = Array.from({ length: 8 }, (_, index) => reconnector.next(1006, index * 100));
  t.same(
    delays.map((decision) => (decision.action === 'retry' ? decision.delayMs : -1)),
    [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000],
  );
  t.equal(reconnector.attempts, 8);
  t.same(reconnector.next(1006, 0, 'never'), { action: 'stop', reason: 'never' }, 'e.g. HTTP 401 without getToken');
  t.match(new Reconnector(defaults, () => 0.5).next(4401, 0, 'backoff'), { action: 'retry' });
});

t.test('a connection that lasted stableAfterMs resets the backoff; a short one does not', async (t) => {
  const reconnector = new Reconnector(defaults, sequence(0.5));
  reconnector.next(1006, 0);
  reconnector.next(1006, 1000);
  reconnector.next(1006, 2000);
  t.equal(reconnector.attempts, 3);
  reconnector.connected(10_000);
  t.match(reconnector.next(4001, 10_000 + 4999), { action: 'retry', attempt: 3, delayMs: 2000 }, 'dropped after 4.999 s: keeps backing off');
  reconnector.connected(20_000);
  t.match(reconnector.next(4001, 25_000), { action: 'retry', attempt: 0, delayMs: 250 }, 'dropped after 5 s: starts over');
  reconnector.reset();
  t.equal(reconnector.attempts, 0);
});

t.test('maxAttempts and enabled: false stop reconnecting', async (t) => {
  const limited = new Reconnector(resolveReconnectOptions({ maxAttempts: 2 }), () => 0);
  t.match(limited.next(1006, 0), { action: 'retry' });
  t.match(limited.next(1006, 0), { action: 'retry' });
  t.same(limited.next(1006, 0), { action: 'stop', reason: 'attempts_exhausted' });
  t.same(new Reconnector(resolveReconnectOptions({ enabled: false }), () => 0).next(1006, 0), { action: 'stop', reason: 'disabled' });
});

t.test('options are validated', async (t) => {
  t.throws(() => resolveReconnectOptions({ initialDelayMs: -1 }), RangeError);
  t.throws(() => resolveReconnectOptions({ maxDelayMs: Number.NaN }), RangeError);
  t.throws(() => resolveReconnectOptions({ multiplier: 0.5 }), RangeError);
  t.throws(() => resolveReconnectOptions({ maxAttempts: -1 }), RangeError);
  t.same(resolveReconnectOptions({ initialDelayMs: 100 }), { ...DEFAULT_RECONNECT_OPTIONS, initialDelayMs: 100 });
});
