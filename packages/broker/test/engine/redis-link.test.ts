import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { redisEngineDefaults } from '../../src/engine/redis-options.js';
import { RedisLink, type RedisLinkHost, reconnectDelay } from '../../src/engine/redis-link.js';
import { BrokerError, BrokerErrorCode } from '../../src/errors.js';

const lost = (message = 'lost'): BrokerError => new BrokerError(BrokerErrorCode.engineUnavailable, message);

/** A host whose rebuilds succeed or fail as told, recording every call the link makes. */
function fakeHost(outcomes: (() => Promise<void>)[] = []) {
  const calls: string[] = [];
  const generations: number[] = [];
  const host: RedisLinkHost = {
    rebuild: (generation) => {
      generations.push(generation);
      calls.push('rebuild');
      return (outcomes.shift() ?? (() => Promise.resolve()))();
    },
    interrupted: (error, wentDown) => void calls.push(`interrupted ${error.message} ${wentDown ? 'down' : 'already down'}`),
    up: (resumed) => void calls.push(resumed ? 'up resumed' : 'up'),
  };
  return { host, calls, generations };
}

t.test('reconnectDelay: doubles from the minimum, capped at the maximum', async (t) => {
  const backoff = { minDelayMs: redisEngineDefaults.reconnectMinDelayMs, maxDelayMs: redisEngineDefaults.reconnectMaxDelayMs };
  t.same([1, 2, 3, 4, 5, 6, 10].map((attempt) => reconnectDelay(backoff, attempt)), [50, 100, 200, 400, 800, 1000, 1000]);
  t.equal(reconnectDelay({ minDelayMs: 7, maxDelayMs: 5 }, 1), 5, 'the maximum wins over the minimum');
});

t.test('the first build brings the link up without a resume; an interruption takes it down and a rebuild resumes it', async (t) => {
  const { host, calls, generations } = fakeHost();
  const link = new RedisLink(host, { minDelayMs: 1, maxDelayMs: 1 });
  t.teardown(() => link.close());
  t.equal(link.up, false, 'starts down');
  link.start();
  t.equal(await link.waitUntilUp(1000), true);
  t.same(calls, ['rebuild', 'up'], 'no resume owed after the first build');
  link.interrupt(lost('cut'));
  t.equal(link.up, false, 'down at once');
  t.equal(await link.waitUntilUp(1000), true);
  t.same(calls, ['rebuild', 'up', 'interrupted cut down', 'rebuild', 'up resumed']);
  t.ok((generations[1] ?? 0) > (generations[0] ?? 0) + 1, 'the interruption and the attempt each took a generation');
  t.equal(link.lastError instanceof BrokerError && link.lastError.message, 'cut');
});

t.test('a failing rebuild is retried with backoff; interruptions while down are passed on but owe one resume', async (t) => {
  let failures = 0;
  const fail = () => {
    failures++;
    return Promise.reject(lost(`attempt ${failures}`));
  };
  const { host, calls } = fakeHost([() => Promise.resolve(), fail, fail, fail]);
  const link = new RedisLink(host, { minDelayMs: 5, maxDelayMs: 20 });
  t.teardown(() => link.close());
  link.start();
  await link.waitUntilUp(1000);
  const started = Date.now();
  link.interrupt(lost('first'));
  link.interrupt(lost('second'));
  t.equal(await link.waitUntilUp(2000), true);
  t.ok(Date.now() - started >= 5 + 10 + 20 - 5, 'waited out 5 + 10 + 20 ms of backoff (timer slack aside)');
  t.same(
    calls.filter((call) => call.startsWith('interrupted')),
    ['interrupted first down', 'interrupted second already down'],
    'only the first interruption took the link down',
  );
  t.equal(calls.filter((call) => call === 'rebuild').length, 5, 'the first build, three failures, one success');
  t.same(calls.slice(-2), ['rebuild', 'up resumed'], 'one resume, after the successful rebuild');
});

t.test('wake() ends a backoff pause at once', async (t) => {
  const { host, calls } = fakeHost([() => Promise.reject(lost())]);
  const link = new RedisLink(host, { minDelayMs: 60_000, maxDelayMs: 60_000 });
  t.teardown(() => link.close());
  link.start();
  await sleep(20);
  t.same(calls, ['rebuild'], 'paused after the failure');
  link.wake();
  t.equal(await link.waitUntilUp(1000), true, 'retried long before the minute');
});

t.test('assertGeneration stops an attempt an interruption or close() overtook', async (t) => {
  let release: () => void = () => undefined;
  const { host, generations } = fakeHost([() => new Promise<void>((resolve) => (release = resolve))]);
  const link = new RedisLink(host, { minDelayMs: 1, maxDelayMs: 1 });
  link.start();
  const generation = generations[0] ?? -1;
  t.doesNotThrow(() => link.assertGeneration(generation), 'current');
  link.interrupt(lost());
  t.throws(() => link.assertGeneration(generation), { code: BrokerErrorCode.engineUnavailable }, 'overtaken by an interruption');
  release();
  t.equal(await link.waitUntilUp(1000), true, 'the overtaken attempt was not taken as success; the next one was');
  t.ok(generations.length >= 2);
  const waiting = link.waitUntilUp(0);
  await link.close();
  t.throws(() => link.assertGeneration(link.generation), { code: BrokerErrorCode.engineClosed }, 'closed');
  t.equal(await waiting, true, 'was up before the close');
  t.equal(link.up, false);
  t.equal(link.closingSignal.aborted, true);
});

t.test('close() tells waiters false and ends the loop', async (t) => {
  const { host } = fakeHost([() => Promise.reject(lost())]);
  const link = new RedisLink(host, { minDelayMs: 60_000, maxDelayMs: 60_000 });
  link.start();
  const waiting = link.waitUntilUp(60_000);
  await sleep(5);
  await link.close();
  t.equal(await waiting, false);
  link.interrupt(lost());
  t.equal(link.up, false, 'interruptions after close are ignored');
});
