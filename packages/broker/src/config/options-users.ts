import { z } from 'zod';
import { option } from './option.js';
import { intFrom } from './option-schemas.js';

/** Users (protocol.md §14): the root of user topics, and how long admin commands wait for every node. */

/** One topic segment (protocol.md §4), or empty. */
const prefixSchema = z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9_\-:@]{1,64}$/, 'must be one topic segment (A-Z a-z 0-9 _ - : @, at most 64 characters) or empty')]);

export const userOptions = {
  userTopicPrefix: option({
    env: 'USER_TOPIC_PREFIX',
    flag: 'user-topic-prefix',
    kind: 'string',
    schema: prefixSchema,
    /** Short and readable in logs; a reserved root, so wildcard subscriptions and grants never reach it. */
    default: 'user',
    help: "root of user topics (user.<id>): publishing to a user, each connection's own user topic; a pattern or grant starting with a wildcard never reaches it; empty (config file or --user-topic-prefix=): no user topics",
  }),
  adminCommandTimeoutMs: option({
    env: 'ADMIN_COMMAND_TIMEOUT',
    flag: 'admin-command-timeout',
    kind: 'duration',
    schema: intFrom(1, 60_000),
    /** A node answers in milliseconds; two seconds covers a loaded one without holding an operator's request long. */
    default: 2000,
    help: 'how long admin user commands (/admin/users/..., /admin/subscribers) wait for every node to answer; short of that the answer says complete:false',
  }),
};

/** The reserved roots a configuration has: the user topic prefix, if any (none when the caller gives no prefix). */
export function reservedRootsOf(config: { readonly userTopicPrefix?: string | undefined }): readonly string[] {
  const prefix = config.userTopicPrefix;
  if (prefix === undefined || prefix === '') return noReservedRoots;
  // The same array for the same prefix: permissionsOf recognizes a connection's scope by identity.
  let roots = reservedRootsByPrefix.get(prefix);
  if (roots === undefined) reservedRootsByPrefix.set(prefix, (roots = Object.freeze([prefix])));
  return roots;
}

const noReservedRoots: readonly string[] = Object.freeze([]);
const reservedRootsByPrefix = new Map<string, readonly string[]>();
