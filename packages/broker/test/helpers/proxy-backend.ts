import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the broker made, with its parsed JSON body. */
export interface ProxyRequest {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

/** How the backend answers a path: a JSON body (200), a status, or never (a hung backend). */
export type ProxyReply = { readonly json: unknown } | { readonly status: number } | 'hang';

export type ProxyHandler = (body: Record<string, unknown>) => ProxyReply | Promise<ProxyReply>;

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * An application backend for the proxy (protocol.md "Backend proxy"), on node:http at a loopback port the
 * system picks: each path answers by its handler (tests swap them), and every request is recorded.
 */
export class ProxyBackend {
  readonly requests: ProxyRequest[] = [];
  readonly handlers = new Map<string, ProxyHandler>();
  readonly url: string;
  private readonly hung = new Set<ServerResponse>();

  private constructor(url: string) {
    this.url = url;
  }

  static async start(t: Teardown): Promise<ProxyBackend> {
    let backend: ProxyBackend | undefined;
    const server = createServer((request, response) => void backend?.serve(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    backend = new ProxyBackend(`http://127.0.0.1:${port}`);
    const started = backend;
    t.teardown(async () => {
      for (const response of started.hung) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return started;
  }

  /** The endpoint URL of `path` (`/connect`). */
  endpoint(path: string): string {
    return `${this.url}${path}`;
  }

  on(path: string, handler: ProxyHandler): void {
    this.handlers.set(path, handler);
  }

  requestsTo(path: string): ProxyRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const path = request.url ?? '/';
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    this.requests.push({ path, body });
    const handler = this.handlers.get(path);
    const reply: ProxyReply = handler === undefined ? { status: 404 } : await handler(body);
    if (reply === 'hang') {
      this.hung.add(response);
      return;
    }
    if ('status' in reply) {
      response.writeHead(reply.status).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply.json));
  }
}
