import type { PresenceLevel } from '@switchboard/protocol';
import type { PresenceEntry, Publication, StreamPosition } from '../engine/engine.js';

/**
 * What a topic's stream carries to a subscriber: publications, and the presence entries that sit between them
 * at `(offset, seq)` (docs/design/presence.md §2.1). Publication `N` precedes every entry with `offset = N`,
 * which precede publication `N + 1`.
 */
export type StreamItem = Publication | PresenceEntry;

/** A position that may also name a presence `seq` (a `since` with `seq`, or what a recovery covers). */
export interface ItemPosition extends StreamPosition {
  readonly seq?: number;
}

export function isPresenceEntry(item: StreamItem): item is PresenceEntry {
  return 'seq' in item;
}

/**
 * Whether a subscription at `level` gets `entry` (protocol.md §13.3): `connection` every entry; `user` a user's
 * first connection in, its last out, and the coalesced stats entries.
 */
export function visibleAt(entry: PresenceEntry, level: PresenceLevel): boolean {
  if (level === 'connection') return true;
  switch (entry.kind) {
    case 'join':
      return entry.first;
    case 'leave':
      return entry.last;
    case 'stats':
      return true;
  }
}

/**
 * Merges publications (ascending by offset) and presence entries (ascending by seq, so by offset too) into the
 * topic's one order. Pure.
 */
export function mergeStream(publications: readonly Publication[], entries: readonly PresenceEntry[]): StreamItem[] {
  if (entries.length === 0) return [...publications];
  if (publications.length === 0) return [...entries];
  const merged: StreamItem[] = [];
  let next = 0;
  for (const entry of entries) {
    // Publications up to the entry's anchor come first; entries anchored below them (below `since`) lead.
    while (next < publications.length && (publications[next] as Publication).offset <= entry.offset) merged.push(publications[next++] as Publication);
    merged.push(entry);
  }
  while (next < publications.length) merged.push(publications[next++] as Publication);
  return merged;
}

/**
 * Whether `item` is at or before `position` in its epoch: a replay or an announcement covers it. A presence
 * entry is compared by `seq`, and only when `position` names one: live entries are never covered by a position
 * that says nothing of presence.
 */
export function coveredBy(item: ItemPosition, position: ItemPosition): boolean {
  if (item.epoch !== position.epoch) return false;
  if (item.seq === undefined) return item.offset <= position.offset;
  return position.seq !== undefined && item.seq <= position.seq;
}

/**
 * When a recovery read failed: the entries between `since.seq` and the first held one are lost unless another
 * interruption recovers them, so the held one must not arrive as if nothing were missing before it.
 */
export function skippedBefore(waiting: readonly StreamItem[], since: ItemPosition): { epoch: string; seq: number } | undefined {
  const first = waiting.find(isPresenceEntry);
  if (first === undefined || since.seq === undefined || first.epoch !== since.epoch || first.seq <= since.seq + 1) return undefined;
  return { epoch: first.epoch, seq: first.seq - 1 };
}
