import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bundle } from '../../scripts/bundle.js';

/**
 * Serves a blank page that loads the browser bundle as `window.switchboard`, and the bundle itself, as an
 * application's web server would: what the Chromium tests drive.
 */
export async function serveBundleSite(title: string): Promise<{ server: Server; url: string }> {
  const code = (await bundle()).code;
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title>
<script type="module">import * as switchboard from '/switchboard.js'; window.switchboard = switchboard;</script>`;
  const server = createServer((request, response) => {
    if (request.url === '/switchboard.js') response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(code);
    else if (request.url === '/') response.writeHead(200, { 'Content-Type': 'text/html' }).end(html);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}
