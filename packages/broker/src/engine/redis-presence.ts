import { assertValidTopic } from '../topics/topic-checks.js';
import type {
  EnginePresence,
  HistoryResult,
  LeaveReason,
  PresenceCounts,
  PresenceEntry,
  PresenceHistory,
  PresenceHistoryQuery,
  PresenceMember,
  PresenceOptions,
  PresencePosition,
  PresenceSnapshot,
  PresenceWrite,
} from './engine.js';
import { parseInteger } from './redis-codec.js';
import { unavailable } from './redis-errors.js';
import type { RedisKeyspace } from './redis-keyspace.js';
import { assertRetention } from './redis-options.js';
import { decodeMember, decodePresenceEntry, encodeMember } from './redis-presence-codec.js';
import { RedisLiveness } from './redis-liveness.js';
import type { PresenceConnection } from './redis-presence-scripts.js';
import { historyResult, parseHistoryReply, recoveryStatus } from './redis-replies.js';

/** Members one sweep call removes at most: about a millisecond of Redis (design §3.3). */
const sweepBatch = 1000;

/** What presence needs from the engine. */
export interface PresenceContext {
  readonly keyspace: RedisKeyspace;
  readonly nodeId: string;
  readonly streamIdleTtlMs: number;
  /** How long the node's liveness outlives its last heartbeat (redis-liveness.ts). */
  readonly nodeTtlMs: number;
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** Throws as `publish` does when the engine is not started or is closed. */
  assertStarted(): void;
  /** The command connection while Redis is up, else undefined. */
  connection(): PresenceConnection | undefined;
  /** Script ARGV 1, 2 and 4, as the publish script gets them: clock, a new epoch, lineage. */
  clock(): string;
  nextEpoch(): string;
  lineage(): string;
  /** This node's liveness had lapsed: its members may have been swept (`EngineHandler.onMembershipLost`). */
  membershipLost(): void;
  /** Members a sweep of this node removed (`EngineHandler.onMembersSwept`). */
  membersSwept(topic: string, members: readonly PresenceMember[], reason: LeaveReason): void;
  /** A dead node was swept; this node holds its lease until the promise settles (`EngineHandler.onNodeSwept`). */
  nodeSwept(node: string): Promise<void> | undefined;
}

/**
 * `EnginePresence` on Redis (docs/design/presence.md §3): each call is one script of
 * `redis-presence-scripts.ts` on the topic's shard, and its reply read here. Entries reach nodes through the
 * topic channel, parsed by `redis-presence-codec.ts` in the engine's `receive`. The node's liveness and the
 * sweeps of dead nodes are `liveness`'s (redis-liveness.ts).
 */
export class RedisPresence implements EnginePresence {
  readonly liveness: RedisLiveness;

  constructor(private readonly context: PresenceContext) {
    this.liveness = new RedisLiveness({
      keyspace: context.keyspace,
      nodeId: context.nodeId,
      ttlMs: context.nodeTtlMs,
      connection: () => context.connection(),
      sweepTopic: (topic, nodeId, self) => this.sweepTopic(topic, nodeId, self),
      membershipLost: () => context.membershipLost(),
      nodeSwept: (node) => context.nodeSwept(node),
    });
  }

  async join(topic: string, member: PresenceMember, options: PresenceOptions): Promise<PresenceWrite> {
    this.check(topic, options);
    const reply = await this.run('join', (c) => c.switchboardPresenceJoin(...this.writeArgs(topic, this.context.nodeId, options), member.connectionId, encodeMember(member)));
    if (Array.isArray(reply) && reply[0] === 'dead') {
      void this.liveness.beat(); // sets it again, and reports the lost membership
      throw unavailable('this node was declared dead (its liveness lapsed); it registers again');
    }
    return parseWrite(reply);
  }

  async leave(topic: string, connectionId: string, reason: LeaveReason, options: PresenceOptions): Promise<PresenceWrite> {
    this.check(topic, options);
    return parseWrite(await this.run('leave', (c) => c.switchboardPresenceLeave(...this.writeArgs(topic, this.context.nodeId, options), connectionId, reason)));
  }

  async flush(topic: string, options: PresenceOptions): Promise<void> {
    this.check(topic, options);
    parseWrite(await this.run('flush', (c) => c.switchboardPresenceFlush(...this.writeArgs(topic, this.context.nodeId, options))));
  }

  async list(topic: string, query: { readonly maxMembers: number }): Promise<PresenceSnapshot> {
    this.check(topic);
    if (!(Number.isSafeInteger(query.maxMembers) && query.maxMembers >= 0)) throw new RangeError(`maxMembers must be an integer >= 0, got ${query.maxMembers}`);
    const { keyspace } = this.context;
    const reply = await this.run('list', (c) => c.switchboardPresenceList(...this.readArgs(topic), String(query.maxMembers), keyspace.presenceMembersPrefix(topic)));
    if (!Array.isArray(reply) || reply.length !== 3 || !Array.isArray(reply[2])) throw unexpected('list');
    const { counts, ...position } = parseStats(reply[0]);
    if (reply[1] === 1) return { ...position, counts, truncated: true };
    const members: PresenceMember[] = [];
    for (const flat of reply[2] as unknown[]) {
      if (!Array.isArray(flat)) throw unexpected('list');
      for (let index = 0; index + 1 < flat.length; index += 2) {
        const member = decodeMember(String(flat[index]), flat[index + 1] as string);
        if (member !== undefined) members.push(member);
      }
    }
    return { ...position, counts, members, truncated: false };
  }

  async stats(topic: string): Promise<PresencePosition & PresenceCounts> {
    this.check(topic);
    const { counts, ...position } = parseStats(await this.run('stats', (c) => c.switchboardPresenceStats(...this.readArgs(topic))));
    return { ...position, ...counts };
  }

  async history(topic: string, query: PresenceHistoryQuery): Promise<HistoryResult & { readonly presence: PresenceHistory }> {
    this.check(topic);
    if (!(Number.isSafeInteger(query.limit) && query.limit >= 0)) throw new RangeError(`limit must be an integer >= 0, got ${query.limit}`);
    const { since, presenceSince } = query;
    const position = (value: number): string => (Number.isSafeInteger(value) && value >= 0 ? String(value) : '-1');
    const reply = await this.run('history', (c) =>
      c.switchboardPresenceHistoryBuffer(...this.readArgs(topic), position(since.offset), String(since.epoch), String(query.limit), position(presenceSince)),
    );
    const parts: unknown[] = Array.isArray(reply) && reply.length === 7 ? reply : [];
    const parsed = parseHistoryReply(parts.slice(0, 4));
    const seq = parseInteger(String(parts[4]));
    const status = recoveryStatus(String(parts[5]));
    const rawEntries = parts[6];
    if (parsed === undefined || seq === undefined || status === undefined || !Array.isArray(rawEntries)) throw unexpected('history');
    const presencePosition = { offset: parsed.offset, epoch: parsed.epoch, seq };
    const presence: PresenceHistory =
      status === 'ok'
        ? { entries: parseEntries(rawEntries, parsed.epoch), position: presencePosition, recovered: true }
        : { entries: [], position: presencePosition, recovered: false, recoveryFailure: status };
    return { ...historyResult(parsed, true), presence };
  }

  async ownMembers(topic: string): Promise<readonly string[]> {
    this.check(topic);
    const { keyspace, nodeId } = this.context;
    return (await this.run('members', (c) => c.hkeys(keyspace.presenceMembersKey(topic, nodeId)))) as string[];
  }

  unregister(): Promise<void> {
    this.context.assertStarted();
    return this.liveness.unregister();
  }

  /**
   * Up to a batch of `nodeId`'s members of `topic` leave (`expired`; `disconnected` when `self`, a clean
   * unregister): `alive` if the node's liveness is back (stop sweeping it), else how many members are left.
   */
  async sweepTopic(topic: string, nodeId: string, self: boolean): Promise<'alive' | number> {
    const reply = await this.run('sweep', (c) =>
      c.switchboardPresenceSweep(...this.writeArgs(topic, nodeId, undefined), self ? '1' : '', String(sweepBatch)),
    );
    if (Array.isArray(reply) && reply[0] === 'alive') return 'alive';
    const left = Array.isArray(reply) && reply[0] === 'done' ? Number(reply[1]) : Number.NaN;
    if (!Number.isSafeInteger(left)) throw unexpected('sweep');
    const removed = reply as unknown[];
    const members: PresenceMember[] = [];
    for (let index = 2; index + 1 < removed.length; index += 2) {
      const member = decodeMember(String(removed[index]), removed[index + 1] as string);
      if (member !== undefined) members.push(member);
    }
    if (members.length > 0) this.context.membersSwept(topic, members, self ? 'disconnected' : 'expired');
    return left;
  }

  private check(topic: string, options?: PresenceOptions): void {
    this.context.assertStarted();
    assertValidTopic(topic);
    if (options === undefined) return;
    if (!(Number.isSafeInteger(options.eventRate) && options.eventRate >= 0)) {
      throw new RangeError(`presence eventRate must be an integer >= 0, got ${options.eventRate}`);
    }
    assertRetention(options.history.size, options.history.ttlMs);
  }

  private async run(what: string, call: (connection: PresenceConnection) => Promise<unknown>): Promise<unknown> {
    const connection = this.context.connection();
    if (connection === undefined) throw unavailable('Redis is unreachable or pub/sub is being restored');
    try {
      return await call(connection);
    } catch (error) {
      throw unavailable(`presence ${what} not confirmed by Redis`, error);
    }
  }

  /** KEYS and ARGV 1-10 of a write script (redis-presence-scripts.ts); no `options`: the stored settings. */
  private writeArgs(topic: string, nodeId: string, options: PresenceOptions | undefined): string[] {
    const { keyspace } = this.context;
    const tag = keyspace.tagOf(topic);
    return [
      ...this.topicKeys(topic),
      keyspace.presenceMembersKey(topic, nodeId),
      keyspace.nodeTopicsKey(tag, nodeId),
      keyspace.liveKey(tag, nodeId),
      keyspace.topicChannel(topic),
      ...this.stateArgs(),
      nodeId,
      topic,
      this.context.publishCommand,
      options === undefined ? '' : String(options.eventRate),
      options === undefined ? '' : String(options.history.size),
      options === undefined ? '' : String(Math.ceil(options.history.ttlMs)),
    ];
  }

  private readArgs(topic: string): string[] {
    return [...this.topicKeys(topic), ...this.stateArgs()];
  }

  private topicKeys(topic: string): string[] {
    const { keyspace } = this.context;
    return [
      keyspace.metaKey(topic),
      keyspace.streamKey(topic),
      keyspace.presenceStreamKey(topic),
      keyspace.presenceCountsKey(topic),
      keyspace.presenceUsersKey(topic),
      keyspace.presenceNodesKey(topic),
    ];
  }

  private stateArgs(): string[] {
    const { context } = this;
    return [context.clock(), context.nextEpoch(), String(context.streamIdleTtlMs), context.lineage()];
  }
}

function unexpected(what: string): Error {
  return unavailable(`unexpected presence ${what} reply`);
}

function parseWrite(reply: unknown): PresenceWrite {
  if (!Array.isArray(reply) || reply.length !== 5) throw unexpected('write');
  const [outcome, epoch, offsetText, seqText, flushAtText] = (reply as unknown[]).map(String) as [string, string, string, string, string];
  const offset = parseInteger(offsetText);
  const seq = parseInteger(seqText);
  if ((outcome !== 'written' && outcome !== 'coalesced' && outcome !== 'unchanged') || offset === undefined || seq === undefined) throw unexpected('write');
  const position = { offset, epoch, seq };
  const flushAt = parseInteger(flushAtText);
  return outcome === 'coalesced' && flushAt !== undefined ? { outcome, position, flushAt } : { outcome, position };
}

function parseStats(reply: unknown): PresencePosition & { readonly counts: PresenceCounts } {
  const parts = Array.isArray(reply) && reply.length === 6 ? (reply as unknown[]).map(String) : [];
  const [epoch, ...numbers] = parts;
  const [offset, seq, connections, users, anonymous] = numbers.map(parseInteger);
  if (epoch === undefined || offset === undefined || seq === undefined || connections === undefined || users === undefined || anonymous === undefined) {
    throw unexpected('stats');
  }
  return { epoch, offset, seq, counts: { connections, users, anonymous } };
}

/** Entries as XRANGE returns them: `[id, [o, offset, x, expiry, t, time, b, body]]`. */
function parseEntries(raw: readonly unknown[], epoch: string): PresenceEntry[] {
  const entries: PresenceEntry[] = [];
  for (const item of raw) {
    if (!Array.isArray(item) || !Array.isArray(item[1])) continue;
    const seq = parseInteger(String(item[0]).split('-')[0] ?? '');
    const fields = new Map<string, unknown>();
    const flat = item[1] as unknown[];
    for (let index = 0; index + 1 < flat.length; index += 2) fields.set(String(flat[index]), flat[index + 1]);
    const offset = parseInteger(String(fields.get('o')));
    const time = parseInteger(String(fields.get('t')));
    const body = fields.get('b');
    if (seq === undefined || offset === undefined || time === undefined || body === undefined) continue;
    const entry = decodePresenceEntry(body as Buffer, offset, seq, epoch, time);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}
