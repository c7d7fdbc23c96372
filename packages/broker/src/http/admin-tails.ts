import { HttpStatus, ProtocolErrorCode, parsePattern } from '@switchboard/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { TailRegistry, tailDefaults } from '../console/tail-registry.js';
import type { AdminGuard } from './admin-users.js';
import { replyError } from './error-reply.js';
import type { HttpBroker } from './http-broker.js';
import { describeInvalid } from './invalid-request.js';

/**
 * Live tails for the console (console/console-tail.ts): a tail subscribes to a pattern through the hub, like
 * a connection, and keeps the last 200 entries (payload previews of 1 KiB) in a ring that overwrites the
 * oldest, so it never slows the broker; a reader polls for the entries after the last `seq` it saw. At most
 * 8 tails per node; one not read for 30 s is closed.
 *
 * - `POST /admin/tails` `{"pattern"}` → 201 `{"id", "pattern", "capacity"}`; 429 `rate_limited` when 8 are open
 * - `GET /admin/tails/:id?after=0` → `{"id", "pattern", "entries": [TailEntry], "missed", "last"}`
 * - `DELETE /admin/tails/:id` → 204; both 404 for an unknown (or expired) tail
 */

const openBody = z.object({ pattern: z.string() }).strict();
const readQuery = z.object({ after: z.coerce.number().int().min(0).default(0) }).strict();
const idParams = z.object({ id: z.string().min(1).max(64) });

export function registerAdminTailRoutes(app: FastifyInstance, broker: HttpBroker, refused: AdminGuard, unavailable: (error: unknown, reply: FastifyReply) => FastifyReply): void {
  const tails = new TailRegistry(broker.hub, { ...tailDefaults, now: Date.now });
  app.addHook('onClose', async () => tails.closeAll());
  const unknown = (reply: FastifyReply, id: string) => replyError(reply, ProtocolErrorCode.badRequest, `no tail ${id} (stopped, or idle for 30 s)`, {}, HttpStatus.notFound);

  app.post('/admin/tails', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const body = openBody.safeParse(request.body);
    if (!body.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(body.error, 'body'));
    const { pattern } = body.data;
    const checked = parsePattern(pattern);
    if (!checked.ok) return replyError(reply, checked.error.code, checked.error.message);
    try {
      const tail = await tails.open(pattern);
      broker.logger.info({ pattern, tail: tail.id }, 'admin: tail opened');
      return reply.code(201).send({ id: tail.id, pattern, capacity: tail.capacity });
    } catch (error) {
      if (error instanceof RangeError) return replyError(reply, ProtocolErrorCode.rateLimited, error.message);
      return unavailable(error, reply);
    }
  });

  app.get('/admin/tails/:id', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const params = idParams.safeParse(request.params);
    const query = readQuery.safeParse(request.query);
    if (!params.success || !query.success) return replyError(reply, ProtocolErrorCode.badRequest, 'a tail id and an integer `after` are required');
    const tail = tails.get(params.data.id);
    if (tail === undefined) return unknown(reply, params.data.id);
    return reply.send({ id: tail.id, pattern: tail.pattern, ...tail.read(query.data.after) });
  });

  app.delete('/admin/tails/:id', async (request, reply) => {
    if (refused(request, reply)) return reply;
    const params = idParams.safeParse(request.params);
    if (!params.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(params.error, 'id'));
    if (!tails.close(params.data.id)) return unknown(reply, params.data.id);
    return reply.code(204).send();
  });
}
