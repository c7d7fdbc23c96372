import type { BrokerError } from '../errors.js';
import { unavailable, withTimeout } from './redis-errors.js';
import type { Topology } from './redis-topology.js';

/** Prefix of canary messages; publications start with a digit (their offset), so the two never mix. */
const canaryMarker = Buffer.from('canary ');

export interface RedisCanaryOptions {
  /** Makes tokens unique across nodes sharing a canary channel's shard. */
  readonly nodeId: string;
  /** Longest wait for every shard's canary to come back. */
  readonly timeoutMs: number;
  /** Publishes on a canary channel; resolves with the number of subscribers that received it (as Redis replies it). */
  readonly publish: (channel: string, message: Buffer) => Promise<unknown>;
}

/**
 * The readiness canary: proves pub/sub works end to end by publishing a token on each subscriber's own
 * canary channel and waiting for it to come back through that subscriber. A connection can be open and
 * still deliver nothing (half-open TCP, a paused Redis, a slot moved away): only a message that makes the
 * round trip shows it works.
 */
export class RedisCanary {
  /** The round in flight and the topology it tests: a rebuilt topology never reuses an old one's. */
  private inFlight: { readonly topology: Topology; readonly done: Promise<void> } | undefined;
  private sequence = 0;
  private readonly waiters = new Map<string, { resolve(): void; reject(error: BrokerError): void }>();

  constructor(private readonly options: RedisCanaryOptions) {}

  /**
   * A message through every subscriber of `topology` and back within `timeoutMs`; concurrent calls for the
   * same topology share one round. Rejects with `ERR_BROKER_ENGINE_UNAVAILABLE` if any does not come back.
   */
  run(topology: Topology): Promise<void> {
    if (this.inFlight?.topology !== topology) {
      const inFlight = {
        topology,
        done: this.send(topology).finally(() => {
          if (this.inFlight === inFlight) this.inFlight = undefined;
        }),
      };
      this.inFlight = inFlight;
    }
    return this.inFlight.done;
  }

  /** Takes a canary off the pub/sub stream: true if `message` was one (whether or not still awaited). */
  receive(message: Buffer): boolean {
    if (!message.subarray(0, canaryMarker.length).equals(canaryMarker)) return false;
    this.waiters.get(message.toString('latin1', canaryMarker.length))?.resolve();
    return true;
  }

  /** Fails the round in flight at once (the connections it travels on are gone). */
  failAll(error: BrokerError): void {
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }

  private async send(topology: Topology): Promise<void> {
    const tokens: string[] = [];
    try {
      await withTimeout(
        Promise.all(
          topology.shards.map(async (shard) => {
            const token = `${this.options.nodeId}.${++this.sequence}`;
            tokens.push(token);
            const arrived = new Promise<void>((resolve, reject) => this.waiters.set(token, { resolve, reject }));
            arrived.catch(() => undefined); // observed below, or abandoned when publishing fails
            const message = Buffer.concat([canaryMarker, Buffer.from(token)]);
            const receivers = await this.options.publish(shard.canaryChannel, message);
            if (receivers === 0) throw unavailable(`nobody subscribes to canary channel ${shard.canaryChannel}`);
            await arrived;
          }),
        ),
        this.options.timeoutMs,
        'the canary',
      );
    } finally {
      for (const token of tokens) this.waiters.delete(token);
    }
  }
}
