import { TopicSyntax, reservedRootAllows } from '@switchboard/protocol';
import type { NamespaceResolver, NamespaceSettings } from '../config/namespace-resolver.js';
import type { NamespaceAccess } from '../config/options-namespaces.js';

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

/** Who holds the grants, and the namespaces whose access rules apply besides them. */
export interface PermissionScope {
  /**
   * The connection has no token (its grants are ANONYMOUS_PUBLISH / ANONYMOUS_SUBSCRIBE): those apply only to
   * topics whose namespace sets no access of its own. Default false: the grants are a token's, and apply
   * everywhere on top of what namespaces allow.
   */
  readonly anonymous?: boolean;
  /** Omitted: no namespaces, the grants alone decide. */
  readonly namespaces?: NamespaceResolver;
  /**
   * Reserved roots (the user topic prefix, protocol.md §14.2): a grant whose first segment is a wildcard
   * never covers a topic or pattern under them. Default none.
   */
  readonly reservedRoots?: readonly string[];
}

/**
 * What a connection (or an HTTP request) may do: its grants, compiled once, and the namespaces' access rules
 * (docs/operations.md "Namespaces"). A token's grant always allows; without one, each namespace's
 * `subscribe` / `publish` decides for its topics (`anonymous`: anyone; `authenticated`: any connection with
 * a token; `nobody`); topics outside every namespace keep the top-level rule (anonymous connections by
 * ANONYMOUS_*, others by their grants only).
 */
export class Permissions {
  readonly grants: Grants;
  private readonly publish: readonly (readonly string[])[];
  private readonly subscribe: readonly (readonly string[])[];
  private readonly anonymous: boolean;
  private readonly namespaces: NamespaceResolver | undefined;
  private readonly reservedRoots: readonly string[];

  constructor(grants: Grants, scope: PermissionScope = {}) {
    this.grants = grants;
    this.publish = grants.publish.map(split);
    this.subscribe = grants.subscribe.map(split);
    this.anonymous = scope.anonymous ?? false;
    this.namespaces = scope.namespaces;
    this.reservedRoots = scope.reservedRoots ?? [];
  }

  /** Whether a publish to `topic` (a valid topic) is allowed. */
  canPublish(topic: string): boolean {
    const { namespaces } = this;
    if (namespaces === undefined || namespaces.isEmpty) return granted(this.publish, topic, this.reservedRoots);
    if (!this.anonymous && granted(this.publish, topic, this.reservedRoots)) return true;
    return this.allowedIn(namespaces.namespaceFor(topic), 'publish', topic);
  }

  /** Whether a subscribe to `pattern` (a valid pattern) is allowed: in every namespace it may receive topics of. */
  canSubscribe(pattern: string): boolean {
    const { namespaces } = this;
    if (namespaces === undefined || namespaces.isEmpty) return granted(this.subscribe, pattern, this.reservedRoots);
    if (!this.anonymous && granted(this.subscribe, pattern, this.reservedRoots)) return true;
    return namespaces.namespacesFor(pattern).every((namespace) => this.allowedIn(namespace, 'subscribe', pattern));
  }

  /** Without a token's grant: the namespace's access, or the top-level rule (the anonymous grants). */
  private allowedIn(namespace: NamespaceSettings, action: 'publish' | 'subscribe', name: string): boolean {
    const access: NamespaceAccess | undefined = namespace[action];
    switch (access) {
      case undefined:
        return this.anonymous && granted(action === 'publish' ? this.publish : this.subscribe, name, this.reservedRoots);
      case 'anonymous':
        return true;
      case 'authenticated':
        return !this.anonymous;
      case 'nobody':
        return false;
    }
  }
}

/** Whether one of `grants` covers `name` (a topic or a pattern). */
function granted(grants: readonly (readonly string[])[], name: string, reservedRoots: readonly string[]): boolean {
  if (grants.length === 0) return false;
  const segments = split(name);
  return grants.some((grant) => covers(grant, segments, reservedRoots));
}

function split(text: string): readonly string[] {
  return text.split(TopicSyntax.separator);
}

/**
 * Whether the grant pattern matches every topic the requested pattern (or topic) matches. A topic is a
 * pattern without wildcards, so the same rule checks publishes. A grant starting with a wildcard covers
 * nothing under `reservedRoots` (protocol.md §14.2: a `>` grant cannot message users).
 */
export function covers(grant: readonly string[], requested: readonly string[], reservedRoots: readonly string[] = []): boolean {
  if (!reservedRootAllows(grant[0], requested[0], reservedRoots)) return false;
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
