import { TopicSyntax } from '@switchboard/protocol';

/** What a connection may do, as topic patterns (protocol.md §4 syntax). */
export interface Grants {
  /** Topics it may publish to: a publish is allowed when one of these patterns matches the topic. */
  readonly publish: readonly string[];
  /**
   * Patterns it may subscribe to: a subscribe is allowed when one of these covers the requested pattern,
   * i.e. matches every topic the requested pattern can match (`orders.>` covers `orders.*.eu`; `orders.*`
   * does not cover `orders.>`).
   */
  readonly subscribe: readonly string[];
}

export const noGrants: Grants = Object.freeze({ publish: Object.freeze([]), subscribe: Object.freeze([]) });

/** Grants compiled for checking: patterns split once, not on every publish. */
export class Permissions {
  readonly grants: Grants;
  private readonly publish: readonly (readonly string[])[];
  private readonly subscribe: readonly (readonly string[])[];

  constructor(grants: Grants) {
    this.grants = grants;
    this.publish = grants.publish.map(split);
    this.subscribe = grants.subscribe.map(split);
  }

  /** Whether a publish to `topic` (a valid topic) is allowed. */
  canPublish(topic: string): boolean {
    if (this.publish.length === 0) return false;
    const segments = split(topic);
    return this.publish.some((grant) => covers(grant, segments));
  }

  /** Whether a subscribe to `pattern` (a valid pattern) is allowed. */
  canSubscribe(pattern: string): boolean {
    if (this.subscribe.length === 0) return false;
    const segments = split(pattern);
    return this.subscribe.some((grant) => covers(grant, segments));
  }
}

function split(text: string): readonly string[] {
  return text.split(TopicSyntax.separator);
}

/**
 * Whether the grant pattern matches every topic the requested pattern (or topic) matches. A topic is a
 * pattern without wildcards, so the same rule checks publishes.
 */
export function covers(grant: readonly string[], requested: readonly string[]): boolean {
  for (let index = 0; index < grant.length; index++) {
    const segment = grant[index];
    // `>` takes one or more trailing segments, whatever they are (wildcards included).
    if (segment === TopicSyntax.tailWildcard) return requested.length > index;
    if (index >= requested.length) return false;
    const wanted = requested[index];
    // A requested `>` reaches topics of any length, which no fixed-length grant covers.
    if (wanted === TopicSyntax.tailWildcard) return false;
    if (segment === TopicSyntax.singleSegmentWildcard) continue;
    if (segment !== wanted) return false;
  }
  return grant.length === requested.length;
}
