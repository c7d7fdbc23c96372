import { createServer } from 'node:http';
import { HttpStatus, ProtocolErrorCode } from '@switchboard/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { Broker, type BrokerDeps } from './broker.js';
import type { Config } from './config/config.js';
import { registerAdminRoutes } from './http/admin.js';
import { registerHealthRoutes } from './http/health.js';
import { registerHistoryRoute } from './http/history.js';
import { registerPublishRoute } from './http/publish.js';

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
 * the engine.
 */
export async function buildApp(config: Config, deps: BrokerDeps = {}): Promise<FastifyInstance> {
  const broker = new Broker(config, deps);
  const app: FastifyInstance = Fastify({
    loggerInstance: broker.logger as FastifyBaseLogger,
    // Scrapes and health checks every few seconds would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    serverFactory: (handler) => {
      const checkEveryMs = Math.max(50, Math.min(1000, Math.floor(config.handshakeTimeoutMs / 4)));
      const server = createServer(
        {
          // The handshake timeout covers the request headers too (slowloris): Node answers 408.
          headersTimeout: config.handshakeTimeoutMs,
          requestTimeout: Math.max(300_000, config.handshakeTimeoutMs),
          connectionsCheckingInterval: checkEveryMs,
        },
        handler,
      );
      // A TCP connection that sends nothing is dropped after the same time (plus the check period, so that
      // incomplete headers get their 408 first).
      server.setTimeout(config.handshakeTimeoutMs + checkEveryMs + 50);
      return server;
    },
  });
  await broker.start();
  app.decorate('broker', broker);
  registerHealthRoutes(app, broker);
  registerPublishRoute(app, broker);
  registerHistoryRoute(app, broker);
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
