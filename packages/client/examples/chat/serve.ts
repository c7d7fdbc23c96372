/**
 * Serves the example page and the SDK's browser bundle (built on the fly with the `browser` condition):
 *
 *   node --conditions=@switchboard/source --import=tsx packages/client/examples/chat/serve.ts [port]
 *
 * then open http://127.0.0.1:3000/?broker=ws://127.0.0.1:8080/ in two windows.
 */
import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { bundle } from '../../scripts/bundle.js';

const files: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
};

export interface Site {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

export async function startSite(port = 3000, host = '127.0.0.1'): Promise<Site> {
  const sdk = (await bundle()).code;
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
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
  const site = await startSite(Number(process.argv[2] ?? 3000));
  console.log(`example page: ${site.url}?broker=ws://127.0.0.1:8080/`);
}
