// Latencies counted in fixed bins, so that processes delivering millions of messages report a few thousand
// numbers: 10 µs bins below 100 ms, 1 ms bins above (up to 60 s).
const FINE_BINS = 10_000;
const COARSE_BINS = 59_900;

export class Histogram {
  private readonly counts = new Uint32Array(FINE_BINS + COARSE_BINS);

  add(ms: number): void {
    const at = ms < 100 ? Math.floor(Math.max(0, ms) * 100) : FINE_BINS + Math.min(COARSE_BINS - 1, Math.floor(ms) - 100);
    this.counts[at]!++;
  }

  /** The bins that counted anything, as [bin, count] pairs. */
  entries(): [number, number][] {
    const entries: [number, number][] = [];
    for (let bin = 0; bin < this.counts.length; bin++) if (this.counts[bin]! > 0) entries.push([bin, this.counts[bin]!]);
    return entries;
  }
}

/** The `p`th percentile (in ms, a bin's middle) of several processes' `entries()`; NaN when empty. */
export function mergedPercentile(parts: [number, number][][], p: number): number {
  const counts = new Map<number, number>();
  let all = 0;
  for (const part of parts) {
    for (const [bin, count] of part) {
      counts.set(bin, (counts.get(bin) ?? 0) + count);
      all += count;
    }
  }
  if (all === 0) return NaN;
  const rank = Math.min(all - 1, Math.floor((p / 100) * all));
  let seen = 0;
  for (const bin of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(bin)!;
    if (seen > rank) return bin < FINE_BINS ? (bin + 0.5) / 100 : bin - FINE_BINS + 100.5;
  }
  return NaN;
}
