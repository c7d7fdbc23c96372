// Shared by the reconnect suites (broker-restart.test.ts, offline.test.ts): one topic map, clients with
// fast reconnects, and broker processes stopped at teardown.
import type { Test } from 'tap';
import { type Client, type ClientOptions, type StateChange, createClient } from '../../src/index.js';
import { type BrokerProcess, startBroker } from './broker-process.js';

export interface Topics {
  'room.*': { n: number };
}

/** Fast reconnects so the suite does not wait out production backoff delays. */
export const quick = { reconnect: { initialDelayMs: 50, maxDelayMs: 300 } } as const;

export function connect(t: Test, url: string, options: Partial<ClientOptions<Topics>> = {}): { client: Client<Topics>; states: StateChange[] } {
  const client = createClient<Topics>({ url, ...quick, ...options });
  const states: StateChange[] = [];
  client.on('state', (change) => states.push(change));
  t.teardown(() => client.close());
  return { client, states };
}

export async function broker(t: Test, flags: string[] = []): Promise<BrokerProcess> {
  const started = await startBroker(flags);
  t.teardown(() => started.stop());
  return started;
}
