import { option } from './option.js';
import { intFrom } from './option-schemas.js';

/**
 * When the node lets its clients go: a graceful shutdown (drain, then 4100 closes spread out) and an engine
 * outage long enough that clients are better served by another node (4003).
 */

export const sheddingOptions = {
  shutdownDrainMs: option({
    env: 'SHUTDOWN_DRAIN',
    flag: 'shutdown-drain',
    kind: 'duration',
    schema: intFrom(0, 600_000),
    /** Most load balancers give a draining node 10-30 s; flushing takes a fraction of it. */
    default: 5000,
    help: 'on SIGTERM, how long queues may flush before clients are closed',
  }),
  shutdownSpreadMs: option({
    env: 'SHUTDOWN_SPREAD',
    flag: 'shutdown-spread',
    kind: 'duration',
    schema: intFrom(0, 600_000),
    default: 2000,
    help: 'window over which 4100 closes are spread, so clients do not all reconnect to the next node at once',
  }),
  engineOutageShedMs: option({
    env: 'ENGINE_OUTAGE_SHED',
    flag: 'engine-outage-shed',
    kind: 'duration',
    schema: intFrom(0, 86_400_000),
    /**
     * Never by default: clients stay connected through an outage and recover by offset when Redis is back
     * (nothing is delivered meanwhile, not even between clients of one node: offsets come from Redis). In a
     * multi-node deployment where one node lost Redis, its clients could move to the others; a few seconds'
     * grace lets a Redis failover finish before clients are moved.
     */
    default: 0,
    help: 'after the engine (Redis) has been unavailable this long, close every connection with 4003 so clients move to healthy nodes; 0: never, clients wait for Redis and then recover',
  }),
};
