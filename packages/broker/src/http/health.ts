import { HttpStatus } from '@switchboard/protocol';
import type { FastifyInstance } from 'fastify';
import type { HttpBroker } from './http-broker.js';

/**
 * `GET /healthz` (liveness: the process serves HTTP), `GET /readyz` (readiness: running, not draining, and
 * the engine can publish and deliver; 503 otherwise, so a load balancer stops sending new clients), and
 * `GET /metrics` (Prometheus text).
 */
export function registerHealthRoutes(app: FastifyInstance, broker: HttpBroker): void {
  app.get('/healthz', async () => ({ status: 'ok', node: broker.config.nodeName }));

  app.get('/readyz', async (_request, reply) => {
    const { ready, reason } = await broker.ready();
    if (ready) return { status: 'ready', node: broker.config.nodeName };
    return reply
      .code(HttpStatus.serviceUnavailable)
      .header('Retry-After', String(broker.config.httpRetryAfterSeconds))
      .send({ status: 'not_ready', node: broker.config.nodeName, reason });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await broker.metrics.metrics();
    return reply.type(broker.metrics.contentType).send(text);
  });
}
