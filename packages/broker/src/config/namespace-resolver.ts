import { TopicSyntax } from '@switchboard/protocol';
import type { Config } from './config.js';
import type { overflowPolicies } from './options-delivery.js';
import type { NamespaceAccess, NamespaceOptions } from './options-namespaces.js';

/**
 * Which settings a topic gets: its namespace's (the longest configured prefix it starts with), each setting
 * the namespace leaves unset taken from the nearest enclosing namespace that sets it, else from the top-level
 * options. Everything that varies per topic asks here: history retention (hub publish), recovery
 * (subscribe with `since`), access without a grant (auth/permissions.ts), the publish rate limit and payload
 * size (session publisher, POST /publish), and the slow-consumer policy (hub/policy-matcher.ts).
 *
 * Pure, and computed once: each namespace's effective settings are resolved at construction, so a lookup is
 * a few map reads (none without namespaces).
 */

type OverflowPolicyName = (typeof overflowPolicies)[number];

/** The effective settings of one namespace, or of the topics outside every namespace. */
export interface NamespaceSettings {
  /** The namespace (`chat.`); undefined for topics outside every namespace. */
  readonly prefix: string | undefined;
  readonly historySize: number;
  readonly historyTtlMs: number;
  /** What the engine keeps of each publication (`Engine.publish`'s retention); undefined: nothing (size 0). */
  readonly history: { readonly size: number; readonly ttlMs: number } | undefined;
  /** Off: a subscribe with `since` answers `failed` with `no_history` for these topics and replays nothing. */
  readonly recovery: boolean;
  /** On: a subscribe without `since` to one of these topics gets its latest publication first (protocol.md §8.6). */
  readonly latest: boolean;
  /**
   * Who may subscribe without a grant for it; undefined (the top level): anonymous connections as
   * ANONYMOUS_SUBSCRIBE allows, everyone else by their token's grants.
   */
  readonly subscribe: NamespaceAccess | undefined;
  /** As `subscribe`, for publishing (ANONYMOUS_PUBLISH at the top level). */
  readonly publish: NamespaceAccess | undefined;
  /**
   * Publishes per second per connection (0: unlimited) and the bucket size. `bucket` names the token bucket a
   * connection spends from: the prefix of the namespace that set the rate (or burst), `''` for the top-level
   * one, so the topics of namespaces that set no rate share the top-level bucket.
   */
  readonly publishRate: { readonly perSecond: number; readonly burst: number; readonly bucket: string };
  /** Largest payload accepted (message_too_big beyond); never above MAX_MESSAGE_BYTES (config-checks.ts). */
  readonly maxMessageBytes: number;
  /** Undefined: SLOW_CONSUMER_RULES decide, then SLOW_CONSUMER_POLICY. */
  readonly slowConsumerPolicy: OverflowPolicyName | undefined;
}

/** The `message_too_big` text, naming the namespace whose limit was crossed. */
export function payloadTooBig(size: number, namespace: NamespaceSettings): string {
  const whose = namespace.prefix === undefined ? '' : ` of namespace ${namespace.prefix}`;
  return `payload of ${size} bytes exceeds maxMessageBytes ${namespace.maxMessageBytes}${whose}`;
}

export type NamespaceConfig = Pick<
  Config,
  'namespaces' | 'historySize' | 'historyTtlMs' | 'publishRatePerSecond' | 'publishRateBurst' | 'maxMessageBytes'
>;

interface Namespace {
  readonly segments: readonly string[];
  readonly settings: NamespaceSettings;
}

export class NamespaceResolver {
  /** The settings of topics outside every namespace. */
  readonly topLevel: NamespaceSettings;
  /** By prefix, with the separator (`chat.`). */
  private readonly byPrefix = new Map<string, Namespace>();

  constructor(config: NamespaceConfig) {
    this.topLevel = {
      prefix: undefined,
      historySize: config.historySize,
      historyTtlMs: config.historyTtlMs,
      history: retention(config.historySize, config.historyTtlMs),
      recovery: true,
      latest: false,
      subscribe: undefined,
      publish: undefined,
      publishRate: { perSecond: config.publishRatePerSecond, burst: config.publishRateBurst, bucket: '' },
      maxMessageBytes: config.maxMessageBytes,
      slowConsumerPolicy: undefined,
    };
    // Shortest first, so that each namespace's enclosing ones are resolved before it.
    const prefixes = Object.keys(config.namespaces).sort((a, b) => a.length - b.length);
    for (const prefix of prefixes) {
      const own = config.namespaces[prefix] as NamespaceOptions;
      const enclosing = this.enclosing(prefix);
      this.byPrefix.set(prefix, { segments: prefix.slice(0, -1).split(TopicSyntax.separator), settings: inherit(prefix, own, enclosing) });
    }
  }

  /** Each configured namespace's effective settings. */
  get namespaces(): NamespaceSettings[] {
    return [...this.byPrefix.values()].map((namespace) => namespace.settings);
  }

  /** Whether any namespace is configured. */
  get isEmpty(): boolean {
    return this.byPrefix.size === 0;
  }

  /** The effective settings of `topic` (a valid topic): its longest namespace's, or the top level's. */
  namespaceFor(topic: string): NamespaceSettings {
    if (this.byPrefix.size === 0) return this.topLevel;
    return this.enclosing(topic);
  }

  /**
   * The settings of every namespace a subscription to `pattern` (a valid pattern) may receive topics of: the
   * one that holds all of them (or the top level), and each more specific namespace the pattern reaches into
   * (`chat.*` reaches `chat.vip.`; `>` reaches every namespace). A subscribe must be allowed in each.
   */
  namespacesFor(pattern: string): NamespaceSettings[] {
    if (this.byPrefix.size === 0) return [this.topLevel];
    const segments = pattern.split(TopicSyntax.separator);
    const home = this.home(segments);
    const reached = [home];
    for (const { segments: prefix, settings } of this.byPrefix.values()) {
      // Namespaces enclosing `home` overlap the pattern too, but none of its topics is theirs.
      const enclosesHome = home.prefix !== undefined && home.prefix.startsWith(settings.prefix as string);
      if (!enclosesHome && reaches(segments, prefix)) reached.push(settings);
    }
    return reached;
  }

  /**
   * The longest namespace that holds every topic `segments` (a pattern's) can match: its prefix is made of
   * the pattern's leading literal segments, and at least one segment follows.
   */
  private home(segments: readonly string[]): NamespaceSettings {
    let literal = 0;
    while (literal < segments.length - 1 && !isWildcard(segments[literal] as string)) literal++;
    for (let length = literal; length > 0; length--) {
      const namespace = this.byPrefix.get(`${segments.slice(0, length).join(TopicSyntax.separator)}${TopicSyntax.separator}`);
      if (namespace !== undefined) return namespace.settings;
    }
    return this.topLevel;
  }

  /** The settings of the longest namespace that `name` (a topic, or a prefix with its separator) is inside. */
  private enclosing(name: string): NamespaceSettings {
    // Each proper prefix ending at a separator, longest first: `a.b.c` tries `a.b.`, then `a.`.
    for (let end = name.lastIndexOf(TopicSyntax.separator, name.length - 2); end > 0; end = name.lastIndexOf(TopicSyntax.separator, end - 1)) {
      const namespace = this.byPrefix.get(name.slice(0, end + 1));
      if (namespace !== undefined) return namespace.settings;
    }
    return this.topLevel;
  }
}

/** A namespace's settings: its own, else its enclosing namespace's (or the top level's). */
function inherit(prefix: string, own: NamespaceOptions, enclosing: NamespaceSettings): NamespaceSettings {
  const ownRate = own.publishRatePerSecond !== undefined || own.publishRateBurst !== undefined;
  const historySize = own.historySize ?? enclosing.historySize;
  const historyTtlMs = own.historyTtlMs ?? enclosing.historyTtlMs;
  return {
    prefix,
    historySize,
    historyTtlMs,
    history: retention(historySize, historyTtlMs),
    recovery: own.recovery ?? enclosing.recovery,
    latest: own.latest ?? enclosing.latest,
    subscribe: own.subscribe ?? enclosing.subscribe,
    publish: own.publish ?? enclosing.publish,
    publishRate: ownRate
      ? {
          perSecond: own.publishRatePerSecond ?? enclosing.publishRate.perSecond,
          burst: own.publishRateBurst ?? enclosing.publishRate.burst,
          bucket: prefix,
        }
      : enclosing.publishRate,
    maxMessageBytes: own.maxMessageBytes ?? enclosing.maxMessageBytes,
    slowConsumerPolicy: own.slowConsumerPolicy ?? enclosing.slowConsumerPolicy,
  };
}

function retention(size: number, ttlMs: number): NamespaceSettings['history'] {
  return size > 0 ? { size, ttlMs } : undefined;
}

function isWildcard(segment: string): boolean {
  return segment === TopicSyntax.singleSegmentWildcard || segment === TopicSyntax.tailWildcard;
}

/** Whether some topic matches both `pattern` and the namespace `prefix` (its segments, then at least one more). */
function reaches(pattern: readonly string[], prefix: readonly string[]): boolean {
  for (const [index, segment] of prefix.entries()) {
    const wanted = pattern[index];
    if (wanted === undefined) return false;
    if (wanted === TopicSyntax.tailWildcard) return true;
    if (wanted !== TopicSyntax.singleSegmentWildcard && wanted !== segment) return false;
  }
  return pattern.length > prefix.length;
}
