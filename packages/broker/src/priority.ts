/**
 * Delivery priorities, highest first. `control` is the broker's own traffic (acks, errors, gap notices,
 * chunk aborts): it always goes out before any delivery and is never dropped. Clients publish with one of
 * the other three.
 */
export const priorities = ['control', 'high', 'normal', 'low'] as const;
export type Priority = (typeof priorities)[number];

/** The priorities a publication may carry: control traffic is the broker's alone. */
export const publishPriorities = ['high', 'normal', 'low'] as const;
export type PublishPriority = (typeof publishPriorities)[number];

/** Rank of each priority: 0 is sent first. Used to index per-priority lanes without a lookup. */
export const priorityRank = { control: 0, high: 1, normal: 2, low: 3 } as const satisfies Record<Priority, number>;
