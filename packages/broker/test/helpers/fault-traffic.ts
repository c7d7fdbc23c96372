import { type Client, type ClientOptions, createClient, isSwitchboardError } from '@switchboard/client';
import type { Test } from 'tap';
import type { AckedPublication, SubscriberTrace, TraceEvent } from './delivery-ledger.js';

/**
 * Real SDK clients for the fault tests: subscribers that record what their application sees (deliveries,
 * gap notices, failed recoveries) as ledger traces, and publishers that publish with acks at a steady,
 * bounded rate and record every acknowledgement. Payloads are `{ p, n }`: the publisher and its publish
 * order, so the ledger can tell a publication delivered twice from two publications.
 */

/** Reconnects quickly: a case lasts seconds, and each fault sends clients to the other node or back. */
const reconnect = { initialDelayMs: 100, maxDelayMs: 1000 } as const;

interface Payload {
  readonly p: string;
  readonly n: number;
}

function isPayload(data: unknown): data is Payload {
  return typeof data === 'object' && data !== null && typeof (data as Payload).p === 'string' && typeof (data as Payload).n === 'number';
}

/** One SDK client and the nodes it was welcomed by, in order. */
export interface TrafficClient {
  readonly name: string;
  readonly client: Client;
  readonly nodes: readonly (string | undefined)[];
}

/** Opens an SDK client and resolves once the first node has welcomed it; closed when the test ends. */
export async function openClient(t: Test, name: string, url: string, options: Partial<ClientOptions> = {}): Promise<TrafficClient> {
  const client = createClient({ url, reconnect, ...options });
  t.teardown(() => client.close());
  const nodes: (string | undefined)[] = [];
  const connected = new Promise<void>((resolve) =>
    client.on('connected', (info) => {
      nodes.push(info.node);
      resolve();
    }),
  );
  const timeout = setTimeout(() => void client.close(), 20_000);
  await Promise.race([connected, client.whenConnected()]).finally(() => clearTimeout(timeout));
  if (nodes.length === 0) throw new Error(`${name} did not connect within 20 s`);
  return { name, client, nodes };
}

/** A subscription whose handler and notices feed a ledger trace. */
export interface TracedSubscription extends SubscriberTrace {
  readonly events: TraceEvent[];
  /** Reasons of the failed recoveries it was told of, in order. */
  readonly recoveryFailures: string[];
  /** Errors reported to `onError`. */
  readonly errors: string[];
}

/** Subscribes `pattern` on `holder` and waits for the broker's confirmation. */
export async function traceSubscription(holder: TrafficClient, pattern: string): Promise<TracedSubscription> {
  const trace: TracedSubscription = { name: `${holder.name} ${pattern}`, patterns: [pattern], events: [], recoveryFailures: [], errors: [] };
  await holder.client.subscribe(
    pattern,
    (message) => {
      const { data } = message;
      if (!isPayload(data)) return;
      trace.events.push({ kind: 'delivery', publisher: data.p, seq: data.n, topic: message.topic, epoch: message.epoch, offset: message.offset });
    },
    {
      onGap: (gap) => trace.events.push({ kind: 'gap', topic: gap.topic, epoch: gap.epoch, from: gap.from, to: gap.to }),
      onRecoveryFailed: (failure) => {
        trace.recoveryFailures.push(failure.reason);
        trace.events.push({ kind: 'recovery-failed', topic: failure.topic, epoch: failure.epoch, offset: failure.offset });
      },
      onError: (error) => trace.errors.push(`${error.code}: ${error.message}`),
    },
  );
  return trace;
}

export interface PublisherOptions {
  /** Topics published to in turn. */
  readonly topics: readonly string[];
  /** One publish per tick. */
  readonly intervalMs: number;
  /** Publishes awaiting their outcome at most; a tick over it publishes nothing (the rate stays bounded). */
  readonly maxInFlight: number;
  /** Gives every publish an idempotency key (protocol.md §8.4), so the SDK may resend it safely. */
  readonly keyed: boolean;
}

/** A publisher at a steady rate; `stop()` ends the ticks and waits for every publish to settle. */
export class SteadyPublisher {
  readonly name: string;
  readonly holder: TrafficClient;
  readonly acked: AckedPublication[] = [];
  /** Failed publishes by error code. */
  readonly failures = new Map<string, number>();
  /** Publishes the broker acknowledged as duplicates of an earlier attempt (a keyed resend). */
  duplicates = 0;
  private readonly options: PublisherOptions;
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private next = 1;

  constructor(holder: TrafficClient, options: PublisherOptions) {
    this.name = holder.name;
    this.holder = holder;
    this.options = options;
  }

  get published(): number {
    return this.next - 1;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
  }

  /** Publishes `count` payloads of `bytes` each at once (a burst), counted like the others. */
  burst(count: number, bytes: number): void {
    for (let index = 0; index < count; index++) this.publishOne('x'.repeat(bytes));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
  }

  private tick(): void {
    if (this.pending.size >= this.options.maxInFlight) return;
    this.publishOne(undefined);
  }

  private publishOne(padding: string | undefined): void {
    const n = this.next++;
    const { topics, keyed } = this.options;
    const topic = topics[n % topics.length] as string;
    const data = { p: this.name, n, ...(padding === undefined ? {} : { padding }) };
    const outcome = this.holder.client.publish(topic, data, keyed ? { key: `${this.name}-${n}` } : {}).then(
      (ack) => {
        if (ack.duplicate) this.duplicates++;
        if (ack.offset === undefined || ack.epoch === undefined) throw new Error(`${this.name}: an ack without offset: is history off?`);
        this.acked.push({ publisher: this.name, seq: n, topic, epoch: ack.epoch, offset: ack.offset });
      },
      (error: unknown) => {
        const code = isSwitchboardError(error) ? error.code : String(error);
        this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
      },
    );
    this.pending.add(outcome);
    void outcome.finally(() => this.pending.delete(outcome));
  }
}
