/** What every benchmark module returns: a name and lines to print, figures beside their baseline. */
export interface BenchResult {
  name: string;
  lines: string[];
}

export interface Measurement {
  /** Operations per second, the median of the rounds. */
  opsPerSecond: number;
}

/**
 * Runs `ours` and `baseline` in alternating rounds (A B A B ...), so drift in machine speed hits both
 * alike, and returns each side's median rate. `operation` returns how many operations it did.
 */
export async function compare(
  rounds: number,
  ours: () => Promise<number> | number,
  baseline: () => Promise<number> | number,
): Promise<{ ours: Measurement; baseline: Measurement; ratio: number }> {
  const oursRates: number[] = [];
  const baselineRates: number[] = [];
  await time(ours); // warm-up, not counted
  await time(baseline);
  for (let round = 0; round < rounds; round++) {
    oursRates.push(await time(ours));
    baselineRates.push(await time(baseline));
  }
  const oursMedian = median(oursRates);
  const baselineMedian = median(baselineRates);
  return { ours: { opsPerSecond: oursMedian }, baseline: { opsPerSecond: baselineMedian }, ratio: oursMedian / baselineMedian };
}

async function time(operation: () => Promise<number> | number): Promise<number> {
  const start = process.hrtime.bigint();
  const count = await operation();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return count / seconds;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function formatRate(opsPerSecond: number, unit: string): string {
  if (opsPerSecond >= 1e6) return `${(opsPerSecond / 1e6).toFixed(2)} M${unit}/s`;
  if (opsPerSecond >= 1e3) return `${(opsPerSecond / 1e3).toFixed(1)} k${unit}/s`;
  return `${opsPerSecond.toFixed(0)} ${unit}/s`;
}

export function comparisonLine(label: string, result: { ours: Measurement; baseline: Measurement; ratio: number }, unit: string, baselineName: string): string {
  return `${label.padEnd(34)} ours ${formatRate(result.ours.opsPerSecond, unit).padStart(14)}   ${baselineName} ${formatRate(result.baseline.opsPerSecond, unit).padStart(14)}   ratio ${result.ratio.toFixed(2)}x`;
}

/** A tunable read from the environment: `fallback` when unset; throws unless it is a positive number. */
export function positiveEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`${name} must be a positive number`);
  return value;
}
