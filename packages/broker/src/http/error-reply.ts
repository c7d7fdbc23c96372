import { type ProtocolErrorCode, httpStatusOf } from '@switchboard/protocol';
import type { FastifyReply } from 'fastify';

/**
 * Answers an HTTP API request with a pubsub.v1 error, `{"code", "message"}`, at the status the protocol's
 * table gives the code (`status` only for the answers HTTP itself defines, e.g. 415).
 */
export function replyError(
  reply: FastifyReply,
  code: ProtocolErrorCode,
  message: string,
  headers: Readonly<Record<string, string>> = {},
  status: number = httpStatusOf(code),
): FastifyReply {
  return reply.code(status).headers(headers).send({ code, message });
}
