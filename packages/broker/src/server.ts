import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { BrokerDeps, ShutdownOptions } from './broker.js';
import type { Config } from './config/config.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  /** Where it listens, e.g. `{ host: '127.0.0.1', port: 8080 }` (the real port when `config.port` is 0). */
  readonly address: { readonly host: string; readonly port: number };
  /** `ws://host:port/` */
  readonly url: string;
  /**
   * Graceful stop: no new TCP connections, queues flush up to the drain deadline, clients are closed with
   * 4100 spread over the spread window, then the engine closes. Idempotent.
   */
  stop(options?: ShutdownOptions): Promise<void>;
}

export interface StartOptions {
  /**
   * Stop gracefully on SIGTERM and SIGINT (a second signal exits at once).
   * @default true
   */
  readonly handleSignals?: boolean;
}

/** Builds the app, listens on `config.host:config.port`, and handles SIGTERM. */
export async function startServer(config: Config, deps: BrokerDeps = {}, options: StartOptions = {}): Promise<RunningServer> {
  const app = await buildApp(config, deps);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let stopping: Promise<void> | undefined;
  const stop = (shutdown: ShutdownOptions = {}): Promise<void> => {
    stopping ??= (async () => {
      removeSignalHandlers();
      // Stop accepting TCP connections at once; fastify's close later finds the listener already closed.
      app.server.close();
      await app.broker.shutdown(shutdown);
      await app.close();
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping !== undefined) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    app.log.info({ signal }, 'graceful shutdown');
    stop().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  const removeSignalHandlers = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  if (options.handleSignals ?? true) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  const url = `ws://${host}:${address.port}${config.wsPath}`;
  app.log.info({ url, engine: app.broker.engine.constructor.name }, 'switchboard broker listening');
  return { app, address: { host: address.address, port: address.port }, url, stop };
}
