import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleUpgrade, type UpgradeOptions, type WebSocket } from '../../src/index.js';

export interface EchoServer {
  port: number;
  url: string;
  /** Every server-side connection, for assertions on what was negotiated. */
  connections: WebSocket[];
  /** Resolves with the close event of the `index`-th connection, whenever it closes or closed. */
  closeOf(index: number): Promise<{ code: number; reason: string; wasClean: boolean }>;
  close(): Promise<void>;
}

/** The text message the interop peers send each other in fragments. */
export const FRAGMENTED = 'fragmented κόσμε';
/** Where `sendFragmented` cuts FRAGMENTED's UTF-8: the second cut splits the 2-byte "ό", as most peers do. */
export const FRAGMENT_CUTS = [6, 14] as const;
/** The ping `sendFragmented` sends between the first two fragments (RFC 6455 §5.4 allows control frames there). */
export const PING_BETWEEN_FRAGMENTS = 'between fragments';

/** Sends FRAGMENTED as a text message in three fragments cut at FRAGMENT_CUTS, with a ping after the first. */
export function sendFragmented(websocket: WebSocket): void {
  const bytes = Buffer.from(FRAGMENTED, 'utf8');
  const [first, second] = FRAGMENT_CUTS;
  websocket.sendFragment(bytes.subarray(0, first), { fin: false, binary: false });
  websocket.ping(Buffer.from(PING_BETWEEN_FRAGMENTS));
  websocket.sendFragment(bytes.subarray(first, second), { fin: false });
  websocket.sendFragment(bytes.subarray(second), { fin: true });
}

/**
 * Our server as an interop peer: echoes every message with its type, except two text messages:
 * `close:CODE:REASON` makes the server start the closing handshake with that code, so each peer's
 * close-code handling can be checked from both sides, and `fragments` is answered with FRAGMENTED sent in
 * fragments (`sendFragmented`).
 */
export async function startEchoServer(options: UpgradeOptions = {}, host = '127.0.0.1'): Promise<EchoServer> {
  const connections: WebSocket[] = [];
  const closes: Promise<{ code: number; reason: string; wasClean: boolean }>[] = [];
  const waiting = new Map<number, (close: Promise<{ code: number; reason: string; wasClean: boolean }>) => void>();
  const server: Server = createServer((_request, response) => response.writeHead(426).end());
  server.on('upgrade', (request, socket, head) => {
    const websocket = handleUpgrade(request, socket, head, { maxMessageSize: 64 * 1024 * 1024, ...options });
    if (websocket === undefined) return;
    const index = connections.push(websocket) - 1;
    closes[index] = new Promise((resolve) => websocket.once('close', (code, reason, wasClean) => resolve({ code, reason, wasClean })));
    waiting.get(index)?.(closes[index]);
    websocket.on('message', (data, isBinary) => {
      if (websocket.readyState !== 1) return;
      if (!isBinary && typeof data === 'string' && data.startsWith('close:')) {
        const [, code, reason = ''] = data.split(':');
        websocket.close(Number(code), reason);
        return;
      }
      if (!isBinary && data === 'fragments') return sendFragmented(websocket);
      websocket.send(isBinary ? (data as Buffer) : (data as string));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    url: `ws://${urlHost}:${port}/`,
    connections,
    closeOf: (index) => closes[index] ?? new Promise((resolve) => waiting.set(index, (close) => resolve(close))),
    close: () =>
      new Promise<void>((resolve) => {
        for (const websocket of connections) websocket.terminate();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
