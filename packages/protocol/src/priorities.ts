/** The priority every publish and delivery carries (protocol.md §6). */
export type Priority = 'high' | 'normal' | 'low';

/** What a sender schedules by: the three message priorities plus control traffic above them all. */
export type SendPriority = 'control' | Priority;

/** Message priorities, most urgent first. */
export const PRIORITIES = ['high', 'normal', 'low'] as const satisfies readonly Priority[];

/** Send priorities, most urgent first: the order in which a sender drains its queues. */
export const SEND_PRIORITIES = ['control', 'high', 'normal', 'low'] as const satisfies readonly SendPriority[];

/** A publish without `priority` is `normal`. */
export const DEFAULT_PRIORITY = 'normal' satisfies Priority;

/**
 * Rank of each send priority, 0 first: index per-priority lanes with it. Control (acks, errors, welcome,
 * gap, cancel) outranks every message so a large backlog never delays an ack or a loss notice.
 */
export const PriorityRank = { control: 0, high: 1, normal: 2, low: 3 } as const satisfies Record<SendPriority, number>;

/** Orders send priorities most urgent first; usable with `Array.prototype.sort`. */
export function comparePriority(a: SendPriority, b: SendPriority): number {
  return PriorityRank[a] - PriorityRank[b];
}
