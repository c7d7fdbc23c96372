import t from 'tap';
import { RedisEngine } from '../../src/engine/engine-redis.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { runEngineContract } from './engine-contract.js';

const server = await startRedisServer();
t.teardown(() => server.destroy());

runEngineContract(t, 'redis', () => new RedisEngine({ redis: server.url }), {
  outage: { begin: () => server.kill(), end: () => server.restart() },
});
