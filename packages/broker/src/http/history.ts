import { ProtocolErrorCode, encodeHistoryAnswer, parseTopic } from '@switchboard/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Permissions } from '../auth/permissions.js';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { replyError } from './error-reply.js';
import { authenticateHttp } from './http-auth.js';
import type { HttpBroker } from './http-broker.js';
import { describeInvalid } from './invalid-request.js';

/**
 * `GET /history?topic=orders.eu.1[&limit=N][&sinceOffset=N&sinceEpoch=E]`: a topic's stored history and its
 * current position, for backends, authenticated like a connection (the token must grant `subscribe` on the
 * topic). The position is what lets an application load state and then subscribe with no gap: read the
 * state and this position together, then subscribe with `since` set to it (protocol.md §8.2).
 *
 * Answers (JSON; errors are `{"code", "message"}` with pubsub.v1 codes):
 * - 200 `{"topic", "epoch", "offset", "publications": [{"offset", "epoch", "priority", "time", "data" | "dataBase64"}]}`:
 *   the last `limit` publications (default 100, at most `MAX_RECOVERY_MESSAGES`; 0: the position only), or
 *   with `since…` those after that position plus `"recovered"` (and `"reason"` when it is false, as in
 *   protocol.md §8.2);
 * - 400 `bad_request` / `invalid_topic`; 401 `invalid_token`; 403 `forbidden`;
 * - 503 `unavailable` with `Retry-After` when the engine is unreachable.
 */

export function registerHistoryRoute(app: FastifyInstance, broker: HttpBroker): void {
  const { config } = broker;
  const retryAfter = String(config.httpRetryAfterSeconds);
  const querySchema = z
    .object({
      topic: z.string(),
      limit: z.coerce.number().int().min(0).max(config.maxRecoveryMessages).default(Math.min(100, config.maxRecoveryMessages)),
      sinceOffset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      sinceEpoch: z.string().min(1).max(64).optional(),
    })
    .strict()
    .refine((query) => (query.sinceOffset === undefined) === (query.sinceEpoch === undefined), 'sinceOffset and sinceEpoch go together');

  app.get('/history', async (request, reply) => {
    const permissions = await authenticateHttp(broker, request, 'GET /history');
    if (!(permissions instanceof Permissions)) return replyError(reply, permissions.code, permissions.message, permissions.headers);
    const parsed = querySchema.safeParse(request.query);
    if (!parsed.success) {
      return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(parsed.error, 'query'));
    }
    const { topic, limit, sinceOffset, sinceEpoch } = parsed.data;
    const checked = parseTopic(topic);
    if (!checked.ok) return replyError(reply, checked.error.code, checked.error.message);
    if (!permissions.canSubscribe(topic)) return replyError(reply, ProtocolErrorCode.forbidden, `reading ${topic} is not permitted`);
    const since = sinceOffset === undefined || sinceEpoch === undefined ? undefined : { offset: sinceOffset, epoch: sinceEpoch };
    try {
      const history = await broker.hub.history(topic, since === undefined ? { limit } : { since, limit });
      const head = {
        topic,
        epoch: history.position.epoch,
        offset: history.position.offset,
        ...(since === undefined
          ? {}
          : { recovered: history.recovered, ...(history.recoveryFailure === undefined ? {} : { reason: history.recoveryFailure }) }),
      };
      const body = encodeHistoryAnswer(head, history.publications, ({ payload }) =>
        payload.encoding === 'json' ? { json: payload.text } : { base64: Buffer.from(payload.bytes).toString('base64') },
      );
      return reply.type('application/json').send(body);
    } catch (error) {
      if (error instanceof BrokerError && error.code === BrokerErrorCode.engineUnavailable) {
        return replyError(reply, ProtocolErrorCode.unavailable, 'the engine is unavailable', { 'Retry-After': retryAfter });
      }
      throw error;
    }
  });
}
