/**
 * Per-second rates of growing counters, from samples the reader takes: whoever asks (a console polling every
 * second, several of them, or nobody for an hour) gets the growth over the last `windowMs` or so, and the
 * node keeps no timer. At most `windowMs / minSpacingMs + 2` samples are kept.
 */
export class RateMeter<K extends string> {
  private readonly samples: { readonly time: number; readonly values: Readonly<Record<K, number>> }[] = [];
  private readonly windowMs: number;
  /** Samples closer together than this are not kept: a burst of readers does not shorten the window. */
  private readonly minSpacingMs: number;

  constructor(windowMs = 2000, minSpacingMs = 250) {
    this.windowMs = windowMs;
    this.minSpacingMs = minSpacingMs;
  }

  /**
   * Rates per second of `values` (counters read now, at `time` in ms) since the newest sample at least
   * `windowMs` old (or the oldest kept); 0 for the very first reading.
   */
  rates(time: number, values: Readonly<Record<K, number>>): Record<K, number> {
    const { samples } = this;
    const last = samples[samples.length - 1];
    if (last === undefined || time - last.time >= this.minSpacingMs) samples.push({ time, values: { ...values } });
    while (samples.length > 2 && time - (samples[1] as (typeof samples)[number]).time >= this.windowMs) samples.shift();
    const base = samples[0] as (typeof samples)[number];
    const seconds = (time - base.time) / 1000;
    const rates = {} as Record<K, number>;
    for (const key of Object.keys(values) as K[]) {
      const growth = values[key] - base.values[key];
      rates[key] = seconds > 0 && growth > 0 ? growth / seconds : 0;
    }
    return rates;
  }
}
