// Interop with headless Chromium's WebSocket (the browser API) against our server.
import t from 'tap';
import { startEchoServer } from '../helpers/echo-peer.js';
import { launchChromium } from '../helpers/browser.js';

interface BrowserReport {
  protocol: string;
  extensions: string;
  checks: Record<string, boolean>;
  serverClose: { code: number; reason: string; wasClean: boolean };
}

// Runs inside the page: the same checks as the python peers, through `new WebSocket(url, protocols)`.
async function browserEcho(url: string): Promise<BrowserReport> {
  const pattern = (size: number): Uint8Array => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
    return bytes;
  };
  const ws = new WebSocket(url, ['pubsub.v1']);
  ws.binaryType = 'arraybuffer';
  const inbox: unknown[] = [];
  const waiters: ((data: unknown) => void)[] = [];
  ws.onmessage = (event) => {
    const waiter = waiters.shift();
    if (waiter) waiter(event.data);
    else inbox.push(event.data);
  };
  const next = (): Promise<unknown> =>
    inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise((resolve) => waiters.push(resolve));
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('WebSocket error before open'));
  });
  const checks: Record<string, boolean> = {};
  for (const [name, text] of [['text-ascii', 'hello, switchboard'], ['text-utf8', 'κόσμε 🚀 ünïcödé 世界']] as const) {
    ws.send(text);
    checks[name] = (await next()) === text;
  }
  for (const size of [0, 125, 126, 65535, 65536, 1 << 20]) {
    const data = pattern(size);
    ws.send(data);
    const echo = new Uint8Array((await next()) as ArrayBuffer);
    checks[`binary-${size}`] = echo.length === size && echo.every((byte, i) => byte === data[i]);
  }
  const closing = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) => {
    ws.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
  });
  ws.send('close:4003:server says bye');
  const serverClose = await closing;

  const second = new WebSocket(url, ['pubsub.v1']);
  await new Promise((resolve) => (second.onopen = resolve));
  second.close(4000, 'browser done');
  await new Promise((resolve) => (second.onclose = resolve));
  return { protocol: ws.protocol, extensions: ws.extensions, checks, serverClose };
}

t.test('headless Chromium WebSocket -> our server', async (t) => {
  const browser = await launchChromium();
  t.teardown(() => browser.close());

  for (const deflate of [false, true]) {
    await t.test(deflate ? 'with permessage-deflate' : 'without compression', async (t) => {
      const server = await startEchoServer({ protocols: ['pubsub.v1'], perMessageDeflate: deflate ? { threshold: 0 } : false });
      t.teardown(() => server.close());
      const page = await browser.newPage();
      t.teardown(() => page.close());
      const report = await page.evaluate(browserEcho, server.url);

      t.equal(report.protocol, 'pubsub.v1', 'browser sees the negotiated subprotocol');
      t.equal(report.extensions.startsWith('permessage-deflate'), deflate, `extensions: "${report.extensions}"`);
      for (const [check, passed] of Object.entries(report.checks)) t.ok(passed, `echo check ${check}`);
      t.equal(Object.keys(report.checks).length, 8, 'every check ran');
      t.same(report.serverClose, { code: 4003, reason: 'server says bye', wasClean: true }, 'browser close event');
      t.same(await server.closeOf(1), { code: 4000, reason: 'browser done', wasClean: true }, 'our server saw the browser close code');
    });
  }
});
