/**
 * An application backend that signs users in with a cookie session and lets the broker ask it
 * (docs/operations.md "Backend proxy", protocol.md §16): no JWT anywhere. It serves the page, the SDK's
 * browser bundle, `POST /login` (sets an HttpOnly session cookie), and the broker's proxy endpoints
 * `/switchboard/connect` (who the cookie is) and `/switchboard/rpc` (the page's calls):
 *
 *   node --conditions=@switchboard/source --import=tsx packages/client/examples/cookie-backend/server.ts [port]
 *   switchboard --proxy-connect-url http://127.0.0.1:3001/switchboard/connect \
 *               --proxy-rpc-url http://127.0.0.1:3001/switchboard/rpc
 *
 * then open http://127.0.0.1:3001/?user=ann. The browser sends the cookie with the WebSocket upgrade
 * itself (cookies are per host, not per port); the broker hands it to /switchboard/connect.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { bundle } from '../../scripts/bundle.js';

export interface CookieBackend {
  readonly server: Server;
  readonly url: string;
  /** Session id -> user: the backend's own session store. */
  readonly sessions: Map<string, { readonly user: string; readonly since: number }>;
  close(): Promise<void>;
}

const USER_NAME = /^[A-Za-z0-9_-]{1,32}$/;

async function body(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

function json(response: ServerResponse, value: unknown): void {
  response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(value));
}

export async function startCookieBackend({ port = 3001, host = '127.0.0.1' } = {}): Promise<CookieBackend> {
  const sdk = (await bundle()).code;
  const sessions = new Map<string, { user: string; since: number }>();
  const server = createServer((request, response) => {
    void route(request, response).catch(() => response.writeHead(500).end());
  });
  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'POST' && url.pathname === '/login') {
      // A development sign-in: anyone may be anyone. A real backend checks a password first.
      const user = url.searchParams.get('user') ?? '';
      if (!USER_NAME.test(user)) return void response.writeHead(400).end('user: one word of letters, digits, _ or -');
      const id = randomBytes(18).toString('base64url');
      sessions.set(id, { user, since: Date.now() });
      response.writeHead(204, { 'Set-Cookie': `session=${id}; HttpOnly; SameSite=Strict; Path=/` }).end();
      return;
    }
    if (request.method === 'POST' && url.pathname === '/switchboard/connect') {
      // The broker asks who an upgrade is: its cookies, parsed, are in the body.
      const { cookies } = (await body(request)) as { cookies?: Record<string, string> };
      const session = sessions.get(cookies?.['session'] ?? '');
      if (session === undefined) return json(response, { refuse: { code: 'invalid_token', reason: 'sign in first' } });
      return json(response, { user: session.user, info: { name: session.user }, grants: { subscribe: ['chat.>'], publish: ['chat.>'] } });
    }
    if (request.method === 'POST' && url.pathname === '/switchboard/rpc') {
      const { method, user } = (await body(request)) as { method?: string; user?: string };
      const session = [...sessions.values()].find((candidate) => candidate.user === user);
      if (method === 'profile.get' && session !== undefined) return json(response, { data: { user: session.user, since: session.since } });
      return json(response, { refuse: { code: 'forbidden', reason: `no method ${String(method)}` } });
    }
    if (url.pathname === '/switchboard.js') return void response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(sdk);
    if (url.pathname === '/app.js' || url.pathname === '/') {
      const file = url.pathname === '/' ? 'index.html' : 'app.js';
      const type = file.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript';
      return void response.writeHead(200, { 'Content-Type': type }).end(readFileSync(new URL(`./${file}`, import.meta.url)));
    }
    response.writeHead(404).end();
  }
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}/`,
    sessions,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const backend = await startCookieBackend({ port: Number(process.argv[2] ?? 3001) });
  console.log(`cookie backend: ${backend.url}?user=ann (broker: --proxy-connect-url ${backend.url}switchboard/connect --proxy-rpc-url ${backend.url}switchboard/rpc)`);
}
