import * as z from 'zod/mini';
import { ProtocolErrorCode } from './errors.js';
import {
  bytesField,
  idempotencyKeyField,
  issueParams,
  patternField,
  payloadField,
  positionField,
  priorityField,
  requestIdField,
  topicField,
  transferIdField,
} from './fields.js';
import { checkFirstChunkFields, chunkHeaderShape } from './messages-chunk.js';
import { DEFAULT_PRIORITY } from './priorities.js';
import { PRESENCE_LEVELS } from './reasons.js';
import { parsePattern, parseTopic, segmentsMatch } from './topics.js';

/** Client-to-server messages (protocol.md §5.1). */

/** Start receiving messages whose topic matches `pattern`, optionally recovering `since` positions. */
export const subscribeSchema = z
  .object({
    op: z.literal('subscribe'),
    id: requestIdField,
    pattern: patternField,
    /** Topic → the last position the client has; each topic must be matched by `pattern`. */
    since: z.exactOptional(z.record(z.string(), positionField)),
    /** Join and leave events of the topic (protocol.md §13.3): exact presence topics only. */
    presence: z.exactOptional(z.enum(PRESENCE_LEVELS)),
  })
  .check(
    z.superRefine((message, context) => {
    const pattern = parsePattern(message.pattern);
    if (!pattern.ok) return;
    if (message.presence !== undefined && pattern.value.wildcard) {
      // protocol.md §13.1: a wildcard subscription is never a presence member, nor gets join/leave events.
      context.addIssue({ code: 'custom', path: ['presence'], message: 'needs an exact topic, not a pattern', params: issueParams(ProtocolErrorCode.invalidTopic) });
    }
    if (message.since === undefined) return;
    for (const key of Object.keys(message.since)) {
      const topic = parseTopic(key);
      const problem = !topic.ok
        ? topic.error.message
        : segmentsMatch(pattern.value.segments, topic.value.segments)
          ? undefined
          : `since names ${JSON.stringify(key)}, which ${JSON.stringify(message.pattern)} does not match`;
      if (problem !== undefined) {
        context.addIssue({ code: 'custom', path: ['since', key], message: problem, params: issueParams(ProtocolErrorCode.invalidTopic) });
      }
    }
  }),
  );
export type SubscribeMessage = z.output<typeof subscribeSchema>;

/** Stop the subscription with exactly this pattern. */
export const unsubscribeSchema = z.object({
  op: z.literal('unsubscribe'),
  id: requestIdField,
  pattern: patternField,
});
export type UnsubscribeMessage = z.output<typeof unsubscribeSchema>;

const publishHeaderShape = {
  op: z.literal('publish'),
  /** Present: the server answers `published` or `error`. Absent: fire-and-forget. */
  id: z.exactOptional(requestIdField),
  topic: topicField,
  priority: z._default(priorityField, DEFAULT_PRIORITY),
  /** Idempotency key: at most one delivery per (topic, key) within the server's window. */
  key: z.exactOptional(idempotencyKeyField),
};

/** A `publish` without `data`: the binary form's header, and the header inside a first chunk. */
export const publishHeaderSchema = z.object(publishHeaderShape);
export type PublishHeader = z.output<typeof publishHeaderSchema>;

/** Publish `data` (a JSON value, or bytes in the binary form) to a concrete topic. */
export const publishSchema = z.object({ ...publishHeaderShape, data: payloadField });
export type PublishMessage = z.output<typeof publishSchema>;

/** Replace the connection's token (protocol.md §9). */
export const refreshSchema = z.object({
  op: z.literal('refresh'),
  id: requestIdField,
  token: z.string().check(z.minLength(1)),
});
export type RefreshMessage = z.output<typeof refreshSchema>;

/** Application-level ping: browsers cannot observe WebSocket pings. */
export const pingSchema = z.object({ op: z.literal('ping'), id: requestIdField });
export type PingMessage = z.output<typeof pingSchema>;

/** The sender abandons one of its chunked transfers; the same shape travels in both directions. */
export const cancelSchema = z.object({ op: z.literal('cancel'), transfer: transferIdField });
export type CancelMessage = z.output<typeof cancelSchema>;

/** The header of a chunk of a large `publish` (binary form only). */
export const clientChunkHeaderSchema = z.object(chunkHeaderShape(publishHeaderSchema)).check(z.superRefine(checkFirstChunkFields));
export type ClientChunkHeader = z.output<typeof clientChunkHeaderSchema>;

/** A decoded chunk of a large `publish`: the header plus this chunk's bytes. */
export const clientChunkSchema = z
  .object({ ...chunkHeaderShape(publishHeaderSchema), data: bytesField })
  .check(z.superRefine(checkFirstChunkFields));
export type ClientChunkMessage = z.output<typeof clientChunkSchema>;
