import { HttpStatus, PRIORITIES, ProtocolErrorCode, ProtocolLimit, httpStatusOf, parseTopic, userTopic } from '@switchboard/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { Permissions } from '../auth/permissions.js';
import { payloadTooBig } from '../config/namespace-resolver.js';
import type { Payload } from '../engine/engine.js';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { replyError } from './error-reply.js';
import { authenticateHttp } from './http-auth.js';
import type { HttpBroker } from './http-broker.js';
import { describeInvalid } from './invalid-request.js';

/**
 * `POST /publish`: a JSON publish for backends, authenticated like a connection (`Authorization: Bearer`,
 * the token must grant `publish` on the topic, or the topic's namespace allow it without a grant). The
 * topic's namespace sets the largest payload and whether the answer carries a position (history); the
 * per-connection publish rate does not apply (backends are throttled by saturation, below).
 *
 * Body: `{"topic": "orders.eu.1", "data": <any JSON>, "priority"?: "high"|"normal"|"low", "key"?: "..."}`, or
 * `dataBase64` instead of `data` for a binary payload (delivered in binary frames, never base64 on the
 * WebSocket side). `"user": "alice"` instead of `topic` publishes to the user's topic (protocol.md §14.2),
 * an ordinary publish there: the grant must name it (`user.>`, `user.alice`).
 *
 * Answers (JSON; errors are `{"code", "message"}` with pubsub.v1 codes):
 * - 200 `{"offset", "epoch", "duplicate"}`: accepted by the engine and fanned out;
 * - 400 `malformed` / `bad_request` / `invalid_topic`; 401 `invalid_token`; 403 `forbidden`;
 * - 413 `message_too_big`;
 * - 429 `rate_limited` with `Retry-After` while the node's send queues hold `httpPublishSaturationBytes` or
 *   more: the broker pushes back rather than absorbing load it cannot deliver;
 * - 503 `unavailable` with `Retry-After` when the engine is unreachable or the node is shutting down.
 */

const bodySchema = z
  .object({
    topic: z.string().optional(),
    user: z.string().min(1).max(1024).optional(),
    data: z.unknown().optional(),
    dataBase64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64').optional(),
    priority: z.enum(PRIORITIES).default('normal'),
    key: z
      .string()
      .min(1)
      .max(ProtocolLimit.maxKeyLength)
      .regex(/^[!-~]+$/, 'must be visible ASCII')
      .optional(),
  })
  .strict()
  .refine((body) => (body.data === undefined) !== (body.dataBase64 === undefined), 'exactly one of data and dataBase64 is required')
  .refine((body) => (body.topic === undefined) !== (body.user === undefined), 'exactly one of topic and user is required');

export function registerPublishRoute(app: FastifyInstance, broker: HttpBroker): void {
  const { config, stats } = broker;
  const retryAfter = String(config.httpRetryAfterSeconds);
  const answer = (reply: FastifyReply, status: number, body: object, headers: Record<string, string> = {}): FastifyReply => {
    stats.increment(stats.httpPublishes, status);
    return reply.code(status).headers(headers).send(body);
  };
  const fail = (reply: FastifyReply, code: ProtocolErrorCode, message: string, headers?: Record<string, string>, status: number = httpStatusOf(code)) => {
    stats.increment(stats.httpPublishes, status);
    return replyError(reply, code, message, headers, status);
  };

  // Base64 inflates by 4/3; room for the JSON around it.
  const bodyLimit = Math.ceil((config.maxMessageBytes * 4) / 3) + 64 * 1024;

  app.post('/publish', {
    bodyLimit,
    errorHandler: (error, _request, reply) => {
      const code = (error as { code?: string }).code;
      if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return fail(reply, ProtocolErrorCode.messageTooBig, `body over ${bodyLimit} bytes`);
      if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return fail(reply, ProtocolErrorCode.badRequest, 'send Content-Type: application/json', undefined, HttpStatus.unsupportedMediaType);
      if ((error as { statusCode?: number }).statusCode === HttpStatus.badRequest) return fail(reply, ProtocolErrorCode.malformed, error.message);
      broker.logger.error({ err: error }, 'POST /publish failed');
      return fail(reply, ProtocolErrorCode.internal, 'internal error');
    },
    handler: async (request, reply) => {
      const takenUpAt = performance.now();
      const permissions = await authenticateHttp(broker, request, 'POST /publish');
      if (!(permissions instanceof Permissions)) return fail(reply, permissions.code, permissions.message, permissions.headers);
      const parsed = bodySchema.safeParse(request.body);
      if (!parsed.success) {
        return fail(reply, ProtocolErrorCode.badRequest, describeInvalid(parsed.error, 'body'));
      }
      const body = parsed.data;
      const target = targetTopic(body, config.userTopicPrefix);
      if (!target.ok) return fail(reply, target.code, target.message);
      const topic = parseTopic(target.topic);
      if (!topic.ok) return fail(reply, topic.error.code, topic.error.message);
      if (!permissions.canPublish(target.topic)) {
        return fail(reply, ProtocolErrorCode.forbidden, `publish to ${target.topic} is not permitted`);
      }
      const payload: Payload =
        body.dataBase64 !== undefined
          ? { encoding: 'binary', bytes: Buffer.from(body.dataBase64, 'base64') }
          : { encoding: 'json', text: JSON.stringify(body.data) };
      const size = payload.encoding === 'binary' ? payload.bytes.length : Buffer.byteLength(payload.text, 'utf8');
      const namespace = broker.namespaces.namespaceFor(target.topic);
      if (size > namespace.maxMessageBytes) return fail(reply, ProtocolErrorCode.messageTooBig, payloadTooBig(size, namespace));
      if (broker.state !== 'running') {
        return fail(reply, ProtocolErrorCode.unavailable, 'the node is shutting down', { 'Retry-After': retryAfter });
      }
      if (broker.saturated) {
        return answer(
          reply,
          httpStatusOf(ProtocolErrorCode.rateLimited),
          { code: ProtocolErrorCode.rateLimited, message: 'fan-out queues are saturated; retry later', retryAfterMs: config.httpRetryAfterSeconds * 1000 },
          { 'Retry-After': retryAfter },
        );
      }
      try {
        const result = await broker.hub.publish(target.topic, payload, { priority: body.priority, idempotencyKey: body.key });
        stats.publishesHttp++;
        const position = namespace.history === undefined ? {} : { offset: result.offset, epoch: result.epoch };
        const answered = answer(reply, HttpStatus.ok, { ...position, duplicate: result.duplicate });
        stats.publishAckLatency.http.observe((performance.now() - takenUpAt) / 1000);
        return answered;
      } catch (error) {
        if (error instanceof BrokerError && error.code === BrokerErrorCode.engineUnavailable) {
          return fail(reply, ProtocolErrorCode.unavailable, 'the engine is unavailable', { 'Retry-After': retryAfter });
        }
        throw error;
      }
    },
  });
}

/** The topic a publish names: `topic`, or the user topic of `user` (protocol.md §14.2). */
function targetTopic(
  body: { readonly topic?: string | undefined; readonly user?: string | undefined },
  prefix: string,
): { readonly ok: true; readonly topic: string } | { readonly ok: false; readonly code: ProtocolErrorCode; readonly message: string } {
  if (body.topic !== undefined) return { ok: true, topic: body.topic };
  if (prefix === '') return { ok: false, code: ProtocolErrorCode.badRequest, message: 'user topics are off on this server (USER_TOPIC_PREFIX is empty)' };
  const topic = userTopic(prefix, body.user as string);
  if (topic === undefined) return { ok: false, code: ProtocolErrorCode.badRequest, message: 'this user id is too long for a user topic' };
  return { ok: true, topic };
}
