import { ProtocolErrorCode, parseTopic } from '@switchboard/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Permissions } from '../auth/permissions.js';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { replyError } from './error-reply.js';
import { authenticateHttp } from './http-auth.js';
import type { HttpBroker } from './http-broker.js';
import { describeInvalid } from './invalid-request.js';

/**
 * `GET /presence?topic=chat.room1` and `GET /presence/stats?topic=chat.room1`: a topic's members and counts
 * for backends (protocol.md §13.2, docs/design/presence.md §4.3), authenticated like `POST /publish`; reading
 * presence needs the `subscribe` grant on the topic, as on a connection.
 *
 * Answers (JSON; errors are `{"code", "message"}` with pubsub.v1 codes):
 * - 200 `{"topic","epoch","offset","seq","stats":{"connections","users","anonymous"},"truncated","users":{…},"anonymous":{…}}`
 *   (`users` and `anonymous` absent when `truncated`), or for `/presence/stats`
 *   `{"topic","epoch","offset","seq","connections","users","anonymous"}`;
 * - 400 `bad_request` / `invalid_topic` / `presence_disabled`; 401 `invalid_token`; 403 `forbidden`;
 * - 503 `unavailable` with `Retry-After` when the engine is unreachable.
 */
export function registerPresenceRoutes(app: FastifyInstance, broker: HttpBroker): void {
  const querySchema = z.object({ topic: z.string() }).strict();

  /** The checks both routes share; the registry to read, or the reply already sent. */
  const admit = async (request: FastifyRequest, reply: FastifyReply, route: string) => {
    const permissions = await authenticateHttp(broker, request, route);
    if (!(permissions instanceof Permissions)) return replyError(reply, permissions.code, permissions.message, permissions.headers);
    const parsed = querySchema.safeParse(request.query);
    if (!parsed.success) return replyError(reply, ProtocolErrorCode.badRequest, describeInvalid(parsed.error, 'query'));
    const { topic } = parsed.data;
    const checked = parseTopic(topic);
    if (!checked.ok) return replyError(reply, checked.error.code, checked.error.message);
    const registry = broker.hub.presence;
    if (registry === undefined || !registry.serves(topic)) {
      return replyError(reply, ProtocolErrorCode.presenceDisabled, `${topic} keeps no presence (no PRESENCE pattern matches it)`);
    }
    if (!permissions.canSubscribe(topic)) return replyError(reply, ProtocolErrorCode.forbidden, `reading the presence of ${topic} is not permitted`);
    return { registry, topic };
  };

  const unavailable = (error: unknown, reply: FastifyReply) => {
    if (error instanceof BrokerError && error.code === BrokerErrorCode.engineUnavailable) {
      return replyError(reply, ProtocolErrorCode.unavailable, 'the engine is unavailable', { 'Retry-After': String(broker.config.httpRetryAfterSeconds) });
    }
    throw error;
  };

  app.get('/presence', async (request, reply) => {
    const admitted = await admit(request, reply, 'GET /presence');
    if (!('registry' in admitted)) return admitted;
    const { registry, topic } = admitted;
    try {
      const listing = await registry.list(topic);
      const { epoch, offset, seq, counts, truncated, dataJson } = listing;
      const head = JSON.stringify({ topic, epoch, offset, seq, stats: { connections: counts.connections, users: counts.users, anonymous: counts.anonymous }, truncated });
      // The listing's `users` and `anonymous` members spliced in as they are: never parsed again.
      const body = dataJson === undefined ? head : `${head.slice(0, -1)},${dataJson.slice(1)}`;
      return reply.type('application/json').send(body);
    } catch (error) {
      return unavailable(error, reply);
    }
  });

  app.get('/presence/stats', async (request, reply) => {
    const admitted = await admit(request, reply, 'GET /presence/stats');
    if (!('registry' in admitted)) return admitted;
    const { registry, topic } = admitted;
    try {
      const { epoch, offset, seq, connections, users, anonymous } = await registry.stats(topic);
      return reply.send({ topic, epoch, offset, seq, connections, users, anonymous });
    } catch (error) {
      return unavailable(error, reply);
    }
  });
}
