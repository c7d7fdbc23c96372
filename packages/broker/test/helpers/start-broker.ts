import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Broker, BrokerDeps } from '../../src/broker.js';
import { type ConfigInput, createConfig } from '../../src/config/config.js';

/** What a test needs from a running broker. */
export interface TestBroker {
  readonly app: FastifyInstance;
  readonly broker: Broker;
  readonly port: number;
  /** `ws://127.0.0.1:<port>/` */
  readonly url: string;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * Builds the app with `overrides` over quiet test defaults, listens on a free loopback port, and closes it
 * when the test ends.
 */
export async function startBroker(t: Teardown, overrides: ConfigInput = {}, deps: BrokerDeps = {}): Promise<TestBroker> {
  const config = createConfig({ logLevel: 'silent', port: 0, nodeName: 'test-node', publishRatePerSecond: 0, ...overrides });
  const app = await buildApp(config, deps);
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const { port } = app.server.address() as AddressInfo;
  return { app, broker: app.broker, port, url: `ws://127.0.0.1:${port}${config.wsPath}`, httpUrl: `http://127.0.0.1:${port}` };
}

/** Polls `condition` until it holds, at most `timeoutMs`: for broker-side state that has no event. */
export async function eventually(condition: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Polls an async `check` until it holds, at most `timeoutMs`: for state outside the broker (Redis, a peer). */
export async function eventuallyAsync(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls `/readyz` until it answers `status`. */
export async function untilReadyz(broker: TestBroker, status: number, timeoutMs = 30_000): Promise<void> {
  const name = broker.broker.config.nodeName;
  await eventuallyAsync(async () => (await broker.app.inject({ url: '/readyz' })).statusCode === status, `${name}: /readyz ${status}`, timeoutMs);
}
