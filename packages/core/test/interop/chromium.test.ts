// Interop with headless Chromium's WebSocket (the browser API) against our server.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startEchoServer } from '../helpers/echo-peer.js';
import { launchChromium } from '../helpers/browser.js';

interface BrowserReport {
  protocol: string;
  extensions: string;
  checks: Record<string, boolean>;
  serverClose: { code: number; reason: string; wasClean: boolean };
}

// The page-side code is plain JavaScript loaded as text: functions compiled by tsx carry helper calls
// (`__name`) that do not exist in the page.
const browserScript = readFileSync(fileURLToPath(new URL('./browser/echo-checks.js', import.meta.url)), 'utf8');

t.test('headless Chromium WebSocket -> our server', async (t) => {
  const browser = await launchChromium();
  t.teardown(() => browser.close());

  for (const deflate of [false, true]) {
    await t.test(deflate ? 'with permessage-deflate' : 'without compression', async (t) => {
      const server = await startEchoServer({ protocols: ['pubsub.v1'], perMessageDeflate: deflate ? { threshold: 0 } : false });
      t.teardown(() => server.close());
      const page = await browser.newPage();
      t.teardown(() => page.close());
      await page.addScriptTag({ content: browserScript });
      const report = (await page.evaluate(`browserEcho(${JSON.stringify(server.url)})`)) as BrowserReport;

      t.equal(report.protocol, 'pubsub.v1', 'browser sees the negotiated subprotocol');
      t.equal(report.extensions.startsWith('permessage-deflate'), deflate, `extensions: "${report.extensions}"`);
      for (const [check, passed] of Object.entries(report.checks)) t.ok(passed, `echo check ${check}`);
      t.equal(Object.keys(report.checks).length, 8, 'every check ran');
      t.same(report.serverClose, { code: 4003, reason: 'server says bye', wasClean: true }, 'browser close event');
      t.same(await server.closeOf(1), { code: 4000, reason: 'browser done', wasClean: true }, 'our server saw the browser close code');
    });
  }
});
