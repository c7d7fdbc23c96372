import { setImmediate as yieldToIo } from 'node:timers/promises';
import { Redis } from 'ioredis';
import t from 'tap';
import type { Payload, PublishOptions } from '../../src/engine/engine.js';
import { RedisEngine } from '../../src/engine/engine-redis.js';
import { BrokerError, BrokerErrorCode } from '../../src/errors.js';
import { startRedisServer } from '../helpers/redis-server.js';

/**
 * Publisher order in the Redis engine (issue 13, protocol.md §8.5): publishes of one node to one topic get
 * offsets in the order they were made, or fail with `unavailable`; never one applied behind a later one.
 */

const server = await startRedisServer();
t.teardown(() => server.destroy());

const normal: PublishOptions = { priority: 'normal' };
const json = (value: unknown): Payload => ({ encoding: 'json', text: JSON.stringify(value) });

t.test('the script cache flushed under a stream of publishes (SCRIPT FLUSH): each fails or keeps its turn', async (t) => {
  const engine = new RedisEngine({ redis: server.url });
  t.teardown(() => engine.close());
  await engine.start({ onPublication: () => {} });
  const admin = new Redis(server.url);
  t.teardown(() => admin.disconnect());

  const count = 3000;
  const offsets: (number | undefined)[] = [];
  const failures: unknown[] = [];
  const pending: Promise<void>[] = [];
  for (let index = 0; index < count; index++) {
    pending.push(
      engine.publish('order.flush', json(index), normal).then(
        (result) => void (offsets[index] = result.offset),
        (error: unknown) => void failures.push(error),
      ),
    );
    // Replies come back between the publishes, so some are sent after a NOSCRIPT reply and some before.
    if (index % 2 === 0) await yieldToIo();
    if (index % 300 === 150) void admin.script('FLUSH');
  }
  await Promise.all(pending);
  const applied = offsets.filter((offset): offset is number => offset !== undefined);
  let highest = 0;
  let overtaken = 0;
  for (const offset of applied) {
    if (offset < highest) overtaken++;
    highest = Math.max(highest, offset);
  }
  t.equal(overtaken, 0, `offsets follow the publish order (${applied.length} applied, ${failures.length} failed)`);
  t.ok(failures.length > 0, 'publishes that met the flushed cache failed rather than being resent');
  t.ok(
    failures.every((error) => error instanceof BrokerError && error.code === BrokerErrorCode.engineUnavailable),
    'with ERR_BROKER_ENGINE_UNAVAILABLE: not applied, the publisher may retry',
  );
  t.equal(applied.length + failures.length, count, 'every publish settled');
  t.same(await engine.history('order.flush', { limit: 0 }).then((history) => history.position.offset), applied.length, 'the failed ones were not applied');
});
