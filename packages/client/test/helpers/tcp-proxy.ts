import { type Server, type Socket, createConnection, createServer } from 'node:net';

/**
 * A TCP proxy in front of a broker, so a test can cut clients off (a network failure) while the broker
 * keeps running, or make the link slow. On loopback the kernel's socket buffers swallow megabytes at once,
 * so without a slow link no sender ever sees backpressure and priorities have nothing to reorder.
 */
export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Connections currently open through the proxy. */
  readonly open: number;
  /** Destroys every connection at once, as a dropped network would (no close frame: 1006). */
  cut(): void;
  /** While refusing, new connections are accepted and dropped at once. */
  refuse(refusing: boolean): void;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** The path of the URL the proxy reports. @default '/' */
  readonly path?: string;
  /** Forward at most this many bytes per second in each direction. @default Infinity */
  readonly bytesPerSecond?: number;
}

/** How often a throttled direction forwards its share, and how much it holds before pausing its source. */
const TICK_MS = 10;
const HOLD_BYTES = 16 * 1024;

export async function startTcpProxy(targetPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const rate = options.bytesPerSecond ?? Infinity;
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const stops: Array<() => void> = [];
    const drop = (): void => {
      pairs.delete(pair);
      for (const stop of stops) stop();
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    if (rate === Infinity) {
      client.pipe(upstream);
      upstream.pipe(client);
    } else {
      stops.push(throttle(client, upstream, rate), throttle(upstream, client, rate));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const cut = (): void => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    url: `ws://127.0.0.1:${port}${options.path ?? '/'}`,
    get open() {
      return pairs.size;
    },
    cut,
    refuse: (value) => {
      refusing = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}

/** Forwards `from` to `to` at `bytesPerSecond`, pausing `from` while more than a little is held. */
function throttle(from: Socket, to: Socket, bytesPerSecond: number): () => void {
  const held: Buffer[] = [];
  let heldBytes = 0;
  const perTick = Math.max(1, Math.floor((bytesPerSecond * TICK_MS) / 1000));
  from.on('data', (chunk: Buffer) => {
    held.push(chunk);
    heldBytes += chunk.length;
    if (heldBytes > HOLD_BYTES) from.pause();
  });
  const timer = setInterval(() => {
    let budget = perTick;
    while (budget > 0 && held.length > 0) {
      const chunk = held[0]!;
      const part = chunk.subarray(0, budget);
      if (part.length === chunk.length) held.shift();
      else held[0] = chunk.subarray(part.length);
      heldBytes -= part.length;
      budget -= part.length;
      if (!to.destroyed) to.write(part);
    }
    if (heldBytes <= HOLD_BYTES && from.isPaused()) from.resume();
  }, TICK_MS);
  return () => clearInterval(timer);
}
