import type { MessageCompressor } from '@switchboard/core';
import type { PresenceLevel } from '@switchboard/protocol';
import type { PresenceEntry } from '../engine/engine.js';
import { visibleAt } from '../history/stream-items.js';
import { type Frames, type CompressionVariant, frame } from './delivery.js';
import type { OutboundItem, OverflowPolicy } from './outbound-item.js';

/**
 * One presence entry on its way to local subscribers (protocol.md §13.3): encoded at most once per compression
 * variant, on first use, and the same item queued to every subscriber whose level gets it. It travels at
 * `normal` in the topic's order, and is never conflated: under `conflate` it is dropped like `drop-oldest`
 * (announced as a `presence_gap`); under `disconnect` it is never dropped.
 */
export class PresenceDelivery {
  readonly entry: PresenceEntry;
  private readonly overflow: OverflowPolicy;
  private readonly items = new Map<number, OutboundItem<Frames>>();

  constructor(entry: PresenceEntry, overflow: OverflowPolicy) {
    this.entry = entry;
    this.overflow = overflow === 'conflate' ? 'drop-oldest' : overflow;
  }

  /** Whether a subscription at `level` gets this entry (connection: all; user: first in, last out, stats). */
  visibleAt(level: PresenceLevel): boolean {
    return visibleAt(this.entry, level);
  }

  itemFor(variant: CompressionVariant): OutboundItem<Frames> {
    let item = this.items.get(variant.id);
    if (item === undefined) {
      item = this.encode(variant.compressor);
      this.items.set(variant.id, item);
    }
    return item;
  }

  private encode(compressor: MessageCompressor | undefined): OutboundItem<Frames> {
    const { topic, epoch, seq } = this.entry;
    const text = presenceEntryJson(this.entry);
    return { priority: 'normal', topic, epoch, seq, kind: 'presence', overflow: this.overflow, ...frame(Buffer.from(text, 'utf8'), false, compressor) };
  }
}

/**
 * The wire form of an entry: `join`, `leave`, or a `presence_stats` without `id` (a coalesced update). A
 * member's info is JSON text already checked at the handshake, spliced in rather than parsed again.
 */
export function presenceEntryJson(entry: PresenceEntry): string {
  const position = { topic: entry.topic, epoch: entry.epoch, offset: entry.offset, seq: entry.seq };
  switch (entry.kind) {
    case 'join': {
      const { member } = entry;
      const head = JSON.stringify({ op: 'join', ...position, connection: member.connectionId, ...(member.user === undefined ? {} : { user: member.user }) });
      const info = member.info === undefined ? '' : `,"info":${member.info}`;
      return `${head.slice(0, -1)}${info},"first":${entry.first}}`;
    }
    case 'leave': {
      const { member } = entry;
      return JSON.stringify({
        op: 'leave',
        ...position,
        connection: member.connectionId,
        ...(member.user === undefined ? {} : { user: member.user }),
        last: entry.last,
        reason: entry.reason,
      });
    }
    case 'stats': {
      const { connections, users, anonymous } = entry.counts;
      return JSON.stringify({ op: 'presence_stats', ...position, connections, users, anonymous, coalesced: entry.coalesced });
    }
  }
}
