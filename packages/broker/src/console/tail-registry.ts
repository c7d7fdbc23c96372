import type { HubSubscriber } from '../hub/hub-subscriber.js';
import { ConsoleTail, type TailOptions } from './console-tail.js';

/** What the registry needs of the hub: tails subscribe like connections. */
export interface TailHub {
  subscribe(subscriber: HubSubscriber, pattern: string): Promise<void>;
  unsubscribe(subscriber: HubSubscriber, pattern: string): void;
}

export interface TailRegistryOptions extends TailOptions {
  /** Tails open at once on this node; beyond, opening one is refused. */
  readonly maxTails: number;
  /** A tail nobody has read for this long is closed (a console tab closed without stopping it). */
  readonly idleMs: number;
}

export const tailDefaults = {
  // A screenful and then some; at most 200 x 1 KiB of previews per tail.
  capacity: 200,
  previewBytes: 1024,
  // A handful of operators each watching a pattern or two.
  maxTails: 8,
  // Consoles read every second: 30 s without a read means nobody is watching.
  idleMs: 30_000,
} as const;

/** The console's open tails on this node, each subscribed through the hub until closed or idle. */
export class TailRegistry {
  private readonly hub: TailHub;
  private readonly options: TailRegistryOptions;
  private readonly tails = new Map<string, ConsoleTail>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(hub: TailHub, options: TailRegistryOptions) {
    this.hub = hub;
    this.options = options;
    this.sweeper = setInterval(() => this.closeIdle(), Math.max(1000, options.idleMs / 4));
    this.sweeper.unref();
  }

  get size(): number {
    return this.tails.size;
  }

  /**
   * Opens a tail of `pattern` (a valid pattern: the caller checks it). Rejects with a RangeError when
   * `maxTails` are open, or with the hub's error (`ERR_BROKER_ENGINE_UNAVAILABLE`).
   */
  async open(pattern: string): Promise<ConsoleTail> {
    if (this.tails.size >= this.options.maxTails) throw new RangeError(`${this.options.maxTails} tails are open on this node: stop one first`);
    const tail = new ConsoleTail(pattern, this.options);
    this.tails.set(tail.id, tail);
    try {
      await this.hub.subscribe(tail, pattern);
    } catch (error) {
      this.tails.delete(tail.id);
      throw error;
    }
    return tail;
  }

  get(id: string): ConsoleTail | undefined {
    return this.tails.get(id);
  }

  close(id: string): boolean {
    const tail = this.tails.get(id);
    if (tail === undefined) return false;
    this.tails.delete(id);
    this.hub.unsubscribe(tail, tail.pattern);
    return true;
  }

  /** Closes the tails nobody read for `idleMs`. */
  closeIdle(): void {
    const stale = this.options.now() - this.options.idleMs;
    for (const tail of [...this.tails.values()]) if (tail.lastRead < stale) this.close(tail.id);
  }

  closeAll(): void {
    clearInterval(this.sweeper);
    for (const id of [...this.tails.keys()]) this.close(id);
  }
}
