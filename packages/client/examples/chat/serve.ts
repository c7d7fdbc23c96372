/**
 * Serves the example page, the SDK's browser bundle (built on the fly with the `browser` condition) and
 * development tokens (`/token?user=ann`, signed with the broker's JWT_SECRET):
 *
 *   JWT_SECRET=... node --conditions=@switchboard/source --import=tsx packages/client/examples/chat/serve.ts [port]
 *
 * then open http://127.0.0.1:3000/?user=ann and http://127.0.0.1:3000/?user=bob.
 */
import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { bundle } from '../../scripts/bundle.js';
import { USER_NAME, devToken, secretFromEnv } from './dev-token.js';

const files: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
};

export interface Site {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

export interface SiteOptions {
  /** The broker's JWT_SECRET. */
  readonly secret: string;
  /** Default 3000; 0 picks a free one. */
  readonly port?: number;
  readonly host?: string;
}

export async function startSite({ secret, port = 3000, host = '127.0.0.1' }: SiteOptions): Promise<Site> {
  const sdk = (await bundle()).code;
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/token') {
      // Anyone may be anyone here: a development sign-in. A real backend checks who asks first.
      const user = url.searchParams.get('user') ?? '';
      if (!USER_NAME.test(user)) response.writeHead(400).end('user: one word of letters, digits, _ or -');
      else response.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end(devToken(secret, user));
      return;
    }
    if (path === '/switchboard.js') {
      response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(sdk);
      return;
    }
    const file = files[path];
    if (file === undefined) {
      response.writeHead(404).end();
      return;
    }
    const type = file.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript';
    response.writeHead(200, { 'Content-Type': type }).end(readFileSync(new URL(`./${file}`, import.meta.url)));
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const site = await startSite({ secret: secretFromEnv(), port: Number(process.argv[2] ?? 3000) });
  console.log(`example page: ${site.url}?user=ann (and ?user=bob in another window; &broker=ws://... for another broker)`);
}
