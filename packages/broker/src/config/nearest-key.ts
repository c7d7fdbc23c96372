/**
 * The known name an unknown one was most likely meant to be, for "unknown key ...; did you mean ...?". Pure.
 * Names are compared without case, `_` and `-`, so an environment variable's or a flag's spelling of a key
 * (`MAX_QUEUED_BYTES`, `max-queued-bytes`) finds the key (`maxQueuedBytes`) at distance 0.
 */

/**
 * The candidate whose spelling is nearest `name`, if near enough to be a likely typo: at most 2 edits, or a
 * third of the name's length for long names. `spellings` maps each candidate to the spellings that stand
 * for it (its own name, and e.g. its env and flag names).
 */
export function nearestKey(name: string, spellings: ReadonlyMap<string, readonly string[]>): string | undefined {
  const wanted = normalized(name);
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const [candidate, forms] of spellings) {
    for (const form of forms) {
      const distance = editDistance(wanted, normalized(form), bestDistance);
      if (distance < bestDistance) {
        best = candidate;
        bestDistance = distance;
      }
    }
  }
  return best;
}

/** `; did you mean X?` for an error message, or nothing. */
export function didYouMean(name: string, spellings: ReadonlyMap<string, readonly string[]>): string {
  const near = nearestKey(name, spellings);
  return near === undefined ? '' : `; did you mean ${near}?`;
}

/** Each name standing for itself: for candidates that have no other spelling. */
export function ownSpellings(names: Iterable<string>): Map<string, readonly string[]> {
  return new Map([...names].map((name) => [name, [name]]));
}

function normalized(name: string): string {
  return name.toLowerCase().replace(/[-_\s]/g, '');
}

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions, the commonest typo), stopping
 * early once every path exceeds `bound` (the answer is then some number >= bound).
 */
export function editDistance(a: string, b: string, bound = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) >= bound) return bound;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (beforePrevious[j - 2] as number) + 1);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin >= bound) return bound;
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length] as number;
}
