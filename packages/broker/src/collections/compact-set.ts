/**
 * A set of strings kept as a value in its owner's field: nothing, one string, or a Set from the second
 * member on. Most connections hold one subscription: an empty Set and its hash table were ~150 bytes of an
 * idle connection, and a wrapper object holding the one member 48 more; as a value it costs only the field.
 * `withMember` and `withoutMember` return what the owner stores back (the Set itself is changed in place).
 */
export type CompactSet = string | Set<string> | undefined;

export function sizeOf(set: CompactSet): number {
  return set === undefined ? 0 : typeof set === 'string' ? 1 : set.size;
}

export function hasMember(set: CompactSet, value: string): boolean {
  return set === undefined ? false : typeof set === 'string' ? set === value : set.has(value);
}

/** The set with `value` added. */
export function withMember(set: CompactSet, value: string): CompactSet {
  if (set === undefined || set === value) return value;
  if (typeof set === 'string') return new Set([set, value]);
  set.add(value);
  return set;
}

/** The set without `value`; a Set left with one member becomes that member again. */
export function withoutMember(set: CompactSet, value: string): CompactSet {
  if (set === undefined || set === value) return undefined;
  if (typeof set === 'string') return set;
  set.delete(value);
  if (set.size > 1) return set;
  return set.size === 1 ? (set.values().next().value as string) : undefined;
}

/**
 * The members in insertion order. A Set is iterated live, as a Set is (deleting the member being visited is
 * allowed); one member comes as an array of it.
 */
export function membersOf(set: CompactSet): Iterable<string> {
  return set === undefined ? [] : typeof set === 'string' ? [set] : set;
}
