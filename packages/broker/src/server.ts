import type { AddressInfo } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { BrokerDeps, ShutdownOptions } from './broker.js';
import type { Config } from './config/config.js';
import { certificateSummary, loadTlsCredentials, tlsFilesOf } from './tls-credentials.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  /** Where it listens, e.g. `{ host: '127.0.0.1', port: 8080 }` (the real port when `config.port` is 0). */
  readonly address: { readonly host: string; readonly port: number };
  /** `ws://host:port/`, or `wss://host:port/` with TLS_CERT. */
  readonly url: string;
  /**
   * What SIGHUP does: reads TLS_CERT, TLS_KEY and TLS_CA again and serves them to new connections; open
   * connections keep the session they have. New files that fail a check (tls-credentials.ts) are refused
   * with an error log line and the certificate in use stays. Returns whether the new files are served
   * (false too when TLS is off).
   */
  reloadTls(): boolean;
  /**
   * Graceful stop: no new TCP connections, queues flush up to the drain deadline, clients are closed with
   * 4100 spread over the spread window, then the engine closes. Idempotent.
   */
  stop(options?: ShutdownOptions): Promise<void>;
}

export interface StartOptions {
  /**
   * Stop gracefully on SIGTERM and SIGINT (a second signal exits at once); with TLS, reload the
   * certificate on SIGHUP ({@link RunningServer.reloadTls}). Without TLS, SIGHUP keeps Node's default (exit).
   * @default true
   */
  readonly handleSignals?: boolean;
}

/** Builds the app, listens on `config.host:config.port`, and handles SIGTERM (and SIGHUP with TLS). */
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
      // Kept until now: a certificate renewal during the drain must not end the process.
      process.off('SIGHUP', onReload);
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
  const tlsFiles = tlsFilesOf(config);
  const reloadTls = (): boolean => {
    const server = app.server;
    if (tlsFiles === undefined || !(server instanceof TlsServer)) {
      app.log.warn('tls reload: TLS is off (no TLS_CERT), nothing to reload');
      return false;
    }
    try {
      const credentials = loadTlsCredentials(tlsFiles);
      server.setSecureContext(credentials.secureContext);
      app.log.info({ certificate: certificateSummary(credentials.certificate) }, 'tls certificate reloaded');
      return true;
    } catch (error) {
      app.log.error({ reason: error instanceof Error ? error.message : String(error) }, 'tls reload refused: the certificate in use stays');
      return false;
    }
  };
  const onReload = (): void => {
    reloadTls();
  };
  // Only with TLS: without it there is nothing to reload, and SIGHUP ends the process as it always did.
  const reloadsOnSighup = (options.handleSignals ?? true) && tlsFiles !== undefined;
  const removeSignalHandlers = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  if (options.handleSignals ?? true) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  if (reloadsOnSighup) process.on('SIGHUP', onReload);
  const url = `${tlsFiles === undefined ? 'ws' : 'wss'}://${host}:${address.port}${config.wsPath}`;
  app.log.info({ url, engine: app.broker.engine.constructor.name }, 'switchboard broker listening');
  return { app, address: { host: address.address, port: address.port }, url, stop, reloadTls };
}
