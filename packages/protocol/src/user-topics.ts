import { ProtocolLimit } from './constants.js';
import { TopicSyntax, isValidTopic } from './topics.js';

/**
 * User topics (protocol.md §14.2): a user's messages travel on an ordinary topic under a reserved root, the
 * server's `welcome.userTopicPrefix`. Shared by the broker and the SDK so both name a user's topic alike.
 */

/** Marks a user id that is written in base64url because it is not a segment as it stands. */
export const ENCODED_USER_MARK = 'b64:';

/**
 * The topic of user `id` under `prefix`: `<prefix>.<id>` when `id` is a valid segment that does not start
 * with `b64:` and the topic fits 255 characters; else `<prefix>.b64:<base64url of id's UTF-8>`. Injective:
 * the plain form never starts with the mark and base64url is injective, so two users never share a topic.
 * Undefined when even the encoded form does not fit (or `id` is empty): that user has no user topic.
 */
export function userTopic(prefix: string, id: string): string | undefined {
  if (id.length === 0) return undefined;
  const plain = `${prefix}${TopicSyntax.separator}${id}`;
  if (!id.startsWith(ENCODED_USER_MARK) && !id.includes(TopicSyntax.separator) && isValidTopic(plain)) return plain;
  const encoded = `${prefix}${TopicSyntax.separator}${ENCODED_USER_MARK}${base64url(new TextEncoder().encode(id))}`;
  return encoded.length <= ProtocolLimit.maxTopicLength && isValidTopic(encoded) ? encoded : undefined;
}

/**
 * Whether a pattern (or grant) may reach a topic by the reserved-root rule (protocol.md §14.2): one whose first
 * segment is a wildcard never matches or covers `<root>.…`, as MQTT 5.0 §4.7.2 keeps `$` topics from `#`.
 * `patternFirst` and `topicFirst` are the first segments of the pattern and of the topic (or requested pattern).
 */
export function reservedRootAllows(patternFirst: string | undefined, topicFirst: string | undefined, reservedRoots: readonly string[]): boolean {
  if (reservedRoots.length === 0 || topicFirst === undefined || !reservedRoots.includes(topicFirst)) return true;
  return patternFirst !== TopicSyntax.singleSegmentWildcard && patternFirst !== TopicSyntax.tailWildcard;
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** RFC 4648 §5 without padding; by hand, so the module needs neither Buffer nor btoa. */
function base64url(bytes: Uint8Array): string {
  let text = '';
  for (let index = 0; index < bytes.length; index += 3) {
    const a = bytes[index] as number;
    const b = bytes[index + 1];
    const c = bytes[index + 2];
    text += alphabet[a >> 2];
    text += alphabet[((a & 3) << 4) | ((b ?? 0) >> 4)];
    if (b !== undefined) text += alphabet[((b & 15) << 2) | ((c ?? 0) >> 6)];
    if (c !== undefined) text += alphabet[c & 63];
  }
  return text;
}
