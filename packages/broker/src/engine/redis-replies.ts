import type { HistoryResult, Publication, RecoveryFailure } from './engine.js';
import { decodeBody, offsetOfEntryId, parseInteger } from './redis-codec.js';

/**
 * Reading Redis's replies to the engine's commands and scripts. Pure: no I/O. Each parser returns
 * undefined for a reply of the wrong shape (the engine then fails the operation as unavailable) rather
 * than throwing, and skips parts it does not know rather than guessing.
 */

/** What the publish script returns: `{duplicate (0 | 1), offset, epoch}`. */
export interface PublishReply {
  readonly offset: number;
  readonly epoch: string;
  /** The idempotency key matched an earlier publish. */
  readonly duplicate: boolean;
}

export function parsePublishReply(reply: unknown): PublishReply | undefined {
  if (!Array.isArray(reply)) return undefined;
  const offset = parseInteger(String(reply[1]));
  if (offset === undefined) return undefined;
  return { offset, epoch: String(reply[2]), duplicate: reply[0] === 1 };
}

/** What the history script returns: the topic's position, how recovery went, and the stream entries read. */
export interface HistoryReply {
  readonly epoch: string;
  readonly offset: number;
  readonly status: 'ok' | RecoveryFailure;
  readonly entries: readonly { readonly offset: number; readonly time: number; readonly body: Buffer }[];
}

/**
 * The history script's statuses in the engine's words (pubsub.v1's). The script keeps its own spelling
 * because `barrier` is stored in Redis, where nodes of an older version read and write the same hash.
 */
const historyStatuses: ReadonlyMap<string, 'ok' | RecoveryFailure> = new Map([
  ['ok', 'ok'],
  ['epoch-mismatch', 'epoch_mismatch'],
  ['expired', 'expired'],
  ['no-history', 'no_history'],
]);

/** A script's recovery status (`ok`, `epoch-mismatch`, ...) in the engine's words; undefined if unknown. */
export function recoveryStatus(text: string): 'ok' | RecoveryFailure | undefined {
  return historyStatuses.get(text);
}

export function parseHistoryReply(reply: unknown): HistoryReply | undefined {
  if (!Array.isArray(reply) || reply.length !== 4) return undefined;
  const [epochBytes, offsetBytes, statusBytes, rawEntries] = reply as [unknown, unknown, unknown, unknown];
  const offset = parseInteger(String(offsetBytes));
  const status = recoveryStatus(String(statusBytes));
  if (offset === undefined || status === undefined || !Array.isArray(rawEntries)) return undefined;
  const entries: { offset: number; time: number; body: Buffer }[] = [];
  for (const raw of rawEntries as unknown[]) {
    if (!Array.isArray(raw) || !Array.isArray(raw[1])) continue;
    const entryOffset = offsetOfEntryId(String(raw[0]));
    const fields = raw[1] as unknown[];
    let body: Buffer | undefined;
    let time: number | undefined;
    for (let index = 0; index + 1 < fields.length; index += 2) {
      const name = String(fields[index]);
      const value = fields[index + 1];
      if (name === 'b' && Buffer.isBuffer(value)) body = value;
      else if (name === 't') time = parseInteger(String(value));
    }
    if (entryOffset !== undefined && body !== undefined && time !== undefined) entries.push({ offset: entryOffset, time, body });
  }
  return { epoch: String(epochBytes), offset, status, entries };
}

/** A history reply as the engine answers it: `since` says whether the read was a recovery (else the latest, newest first). */
export function historyResult(parsed: HistoryReply, since: boolean): HistoryResult {
  const position = { offset: parsed.offset, epoch: parsed.epoch };
  const publications: Publication[] = [];
  for (const entry of parsed.entries) {
    const publication = decodeBody(entry.body, entry.offset, parsed.epoch, entry.time);
    if (publication !== undefined) publications.push(publication);
  }
  if (!since) return { publications: publications.reverse(), position, recovered: false };
  if (parsed.status === 'ok') return { publications, position, recovered: true };
  return { publications: [], position, recovered: false, recoveryFailure: parsed.status };
}

/** One range of `CLUSTER SLOTS`: slots `first`..`last` served by the master at `host`:`port`. */
export interface SlotRange {
  readonly first: number;
  readonly last: number;
  readonly host: string;
  readonly port: number;
}

/** The ranges of a `CLUSTER SLOTS` reply (`[[first, last, [host, port, id], ...replicas], ...]`); malformed ones are skipped. */
export function parseClusterSlots(reply: unknown): SlotRange[] {
  const ranges: SlotRange[] = [];
  for (const range of Array.isArray(reply) ? (reply as unknown[]) : []) {
    if (!Array.isArray(range)) continue;
    const [first, last, master] = range as [unknown, unknown, unknown];
    if (typeof first !== 'number' || typeof last !== 'number' || !Array.isArray(master)) continue;
    ranges.push({ first, last, host: String(master[0]), port: Number(master[1]) });
  }
  return ranges;
}

/**
 * From `INFO replication`: the master's replication id (`master_replid`, empty if absent; a failover or a
 * restart gives the master a new one), and whether it took over from another master (`master_replid2` set).
 */
export function parseReplication(info: string): { readonly replicationId: string; readonly promoted: boolean } {
  const replicationId = /^master_replid:(\w+)/m.exec(info)?.[1] ?? '';
  const previous = /^master_replid2:(\w+)/m.exec(info)?.[1] ?? '';
  return { replicationId, promoted: /[^0]/.test(previous) };
}

/** Whether a `CONFIG GET append*` reply (`[name, value, ...]`) says `appendonly yes` and `appendfsync always`. */
export function parseDurability(reply: unknown): boolean {
  if (!Array.isArray(reply)) return false;
  const values = new Map<string, string>();
  for (let index = 0; index + 1 < reply.length; index += 2) values.set(String(reply[index]), String(reply[index + 1]));
  return values.get('appendonly') === 'yes' && values.get('appendfsync') === 'always';
}
