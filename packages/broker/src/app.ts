import { type ServerOptions, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { HttpStatus, ProtocolErrorCode } from '@switchboard/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { Broker, type BrokerDeps } from './broker.js';
import type { Config } from './config/config.js';
import { registerAdminRoutes } from './http/admin.js';
import { registerHealthRoutes } from './http/health.js';
import { registerHistoryRoute } from './http/history.js';
import { registerPresenceRoutes } from './http/presence.js';
import { registerPublishRoute } from './http/publish.js';
import { certificateSummary, loadTlsCredentials, tlsFilesOf } from './tls-credentials.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The broker node behind this app: hub, sessions, metrics, shutdown. */
    readonly broker: Broker;
  }
}

export type { BrokerDeps } from './broker.js';

/**
 * Builds the broker's fastify app: HTTP routes (`/healthz`, `/readyz`, `/metrics`, `POST /publish`), the
 * WebSocket upgrade handling on `config.wsPath`, and a started engine. Never listens: `server.ts` does, and
 * tests use `app.inject()` or `app.listen({ port: 0 })`. Closing the app closes every connection (4100) and
 * the engine. With TLS_CERT and TLS_KEY the server is a node:https one (`app.server` is then a
 * `tls.Server`, whose `setSecureContext` a reload calls); a certificate that fails its checks throws a
 * ConfigError before the engine starts.
 */
export async function buildApp(config: Config, deps: BrokerDeps = {}): Promise<FastifyInstance> {
  const tlsFiles = tlsFilesOf(config);
  const credentials = tlsFiles === undefined ? undefined : loadTlsCredentials(tlsFiles);
  const clientCertificates = tlsFiles?.ca === undefined ? 'not requested' : 'required';
  const broker = new Broker(config, deps);
  const app: FastifyInstance = Fastify({
    loggerInstance: broker.logger as FastifyBaseLogger,
    // Scrapes and health checks every few seconds would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    serverFactory: (handler) => {
      const checkEveryMs = Math.max(50, Math.min(1000, Math.floor(config.handshakeTimeoutMs / 4)));
      const httpOptions: ServerOptions = {
        // The handshake timeout covers the request headers too (slowloris): Node answers 408.
        headersTimeout: config.handshakeTimeoutMs,
        requestTimeout: Math.max(300_000, config.handshakeTimeoutMs),
        connectionsCheckingInterval: checkEveryMs,
      };
      const server =
        credentials === undefined
          ? createHttpServer(httpOptions, handler)
          : createHttpsServer(
              {
                ...httpOptions,
                ...credentials.secureContext,
                // And the TLS handshake before them (Node's own default is 120 s).
                handshakeTimeout: config.handshakeTimeoutMs,
                // With TLS_CA the TLS handshake itself refuses a client without a certificate that CA signed.
                ...(clientCertificates === 'required' ? { requestCert: true, rejectUnauthorized: true } : {}),
              },
              handler,
            );
      // A TCP connection that sends nothing is dropped after the same time (plus the check period, so that
      // incomplete headers get their 408 first).
      server.setTimeout(config.handshakeTimeoutMs + checkEveryMs + 50);
      return server;
    },
  });
  if (credentials !== undefined) {
    // Scanners and clients without a valid certificate fail here, before any HTTP; seen only when debugging.
    app.server.on('tlsClientError', (error: NodeJS.ErrnoException) => broker.logger.debug({ code: error.code }, 'tls handshake failed'));
    broker.logger.info({ certificate: certificateSummary(credentials.certificate), clientCertificates }, 'tls enabled');
  }
  await broker.start();
  app.decorate('broker', broker);
  registerHealthRoutes(app, broker);
  registerPublishRoute(app, broker);
  registerHistoryRoute(app, broker);
  registerPresenceRoutes(app, broker);
  registerAdminRoutes(app, broker);
  app.get(config.wsPath, async (_request, reply) =>
    reply
      .code(HttpStatus.upgradeRequired)
      .header('Upgrade', 'websocket')
      .send({ code: ProtocolErrorCode.badRequest, message: 'this endpoint speaks WebSocket (pubsub.v1): send an upgrade request' }),
  );
  app.server.on('upgrade', (request, socket, head: Buffer) => broker.handleUpgrade(request, socket, head));
  // Before fastify closes the listener, which waits for every socket, upgraded ones included.
  app.addHook('preClose', async () => {
    await broker.shutdown({ drainMs: 0, spreadMs: 0 });
  });
  app.addHook('onClose', async () => {
    await broker.close();
  });
  return app;
}
