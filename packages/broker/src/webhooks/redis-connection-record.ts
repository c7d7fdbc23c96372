import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PresenceMember } from '../engine/engine.js';

/**
 * The connections each node holds, in Redis, so that a node killed with -9 still has its connections
 * reported closed (docs/operations.md "Webhooks across a cluster"): `sb:webhooks:conns:<engine node id>`, a
 * hash of connection id to user (`=<user>`, or `-` for an anonymous connection). The engine's node id is new
 * with every process, so a restarted node never inherits a previous life's entries.
 *
 * A node writes its own hash only where `connection.closed` is wanted (`HSET` at open, `HDEL` at close, on the
 * webhooks' connection, beside the events' own appends). The node that holds a dead node's presence sweep
 * lease takes the dead node's hash (`take`, from `EngineHandler.onNodeSwept`), a batch per script: each entry
 * is taken by exactly one call, so each connection is reported once even if two sweeps overlap.
 */

const connectionsPrefix = 'sb:webhooks:conns:';

/** Entries taken per script: a batch of events appended at once, and about a millisecond of Redis. */
const takeBatch = 500;

/** KEYS: the hash. ARGV: most entries. Removes and returns up to that many entries (field, value, ...). */
const takeScript = `
local taken = {}
local cursor = '0'
repeat
  local page = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', ARGV[1])
  cursor = page[1]
  local fields = page[2]
  for i = 1, #fields, 2 do
    if redis.call('HDEL', KEYS[1], fields[i]) == 1 then
      taken[#taken + 1] = fields[i]
      taken[#taken + 1] = fields[i + 1]
    end
  end
until cursor == '0' or #taken >= 2 * tonumber(ARGV[1])
return taken`;

type ScriptedRedis = (Redis | Cluster) & {
  webhookConnectionsTake(hash: string, limit: number): Promise<string[]>;
};

export class RedisConnectionRecord {
  private readonly redis: ScriptedRedis;
  private readonly key: string;
  private readonly logger: Logger;

  /** `redis` is owned by the caller; `nodeId` is the engine's (`Engine.nodeId`), as sweeps name dead nodes. */
  constructor(redis: Redis | Cluster, nodeId: string, logger: Logger) {
    redis.defineCommand('webhookConnectionsTake', { numberOfKeys: 1, lua: takeScript });
    this.redis = redis as ScriptedRedis;
    this.key = `${connectionsPrefix}${nodeId}`;
    this.logger = logger;
  }

  opened(member: PresenceMember): void {
    this.redis.hset(this.key, member.connectionId, member.user === undefined ? '-' : `=${member.user}`).catch((error: unknown) => this.failed(error, 'opened'));
  }

  closed(connectionId: string): void {
    this.redis.hdel(this.key, connectionId).catch((error: unknown) => this.failed(error, 'closed'));
  }

  /**
   * Takes every connection `node` recorded, calling `report` for each, a batch at a time: the next batch is
   * read behind the events the last one appended on the same connection, so a large node does not flood the
   * queue's appends. Rejects if Redis fails; a later sweep takes the rest.
   */
  async take(node: string, report: (member: PresenceMember) => void): Promise<void> {
    const key = `${connectionsPrefix}${node}`;
    for (;;) {
      const taken = await this.redis.webhookConnectionsTake(key, takeBatch);
      if (taken.length === 0) return;
      for (let index = 0; index + 1 < taken.length; index += 2) {
        const value = taken[index + 1] as string;
        const connectionId = taken[index] as string;
        report(value.startsWith('=') ? { connectionId, user: value.slice(1) } : { connectionId });
      }
    }
  }

  /**
   * This node's liveness had lapsed, so a sweeper may have taken its connections (reported closed, 1006):
   * those of `open` missing from its hash are recorded again and passed to `reopened`. One read of the hash;
   * a connection that closes meanwhile is skipped, as `open` no longer holds it.
   */
  async reassert(open: ReadonlyMap<string, { readonly presenceMember: PresenceMember }>, reopened: (member: PresenceMember) => void): Promise<void> {
    const before = [...open.keys()];
    const recorded = new Set(await this.redis.hkeys(this.key));
    for (const connectionId of before) {
      const member = open.get(connectionId)?.presenceMember;
      if (member === undefined || recorded.has(connectionId)) continue;
      this.opened(member);
      reopened(member);
    }
  }

  /** This node closes cleanly: what its closes could not remove (Redis was down) is not left for nobody. */
  async forget(): Promise<void> {
    await this.redis.del(this.key).catch((error: unknown) => this.failed(error, 'forget'));
  }

  private failed(error: unknown, what: string): void {
    this.logger.debug({ err: error }, `webhook connection record: ${what} failed (Redis unavailable?)`);
  }
}
