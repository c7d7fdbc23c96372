// Interop with headless Chromium's WebSocket (the browser API) against our server, with and without
// permessage-deflate (the browser always offers it; our server accepts it in the deflate row only).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startEchoServer } from '../helpers/echo-peer.js';
import { launchChromium } from '../helpers/browser.js';
import { runClientPeer, type PeerReport } from './matrix.js';

// The page-side code is plain JavaScript loaded as text: functions compiled by tsx carry helper calls
// (`__name`) that do not exist in the page.
const browserScript = readFileSync(fileURLToPath(new URL('./browser/echo-checks.js', import.meta.url)), 'utf8');

t.test('headless Chromium WebSocket -> our server', async (t) => {
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const version = browser.version().split('.')[0];
  const page = await browser.newPage();
  t.teardown(() => page.close());
  await page.addScriptTag({ content: browserScript });

  const noProtocol = await startEchoServer({ protocols: [] });
  t.teardown(() => noProtocol.close());
  const aborts = (await page.evaluate(`browserAbortsWithoutSubprotocol(${JSON.stringify(noProtocol.url)})`)) as boolean;

  for (const deflate of [false, true]) {
    await t.test(deflate ? 'with permessage-deflate' : 'without compression', (t) =>
      runClientPeer(
        t,
        {
          peer: `Chromium ${version} (headless)`,
          deflate,
          reasons: {
            'fragments-in': 'the browser API sends every message in one frame',
            'peer-ping': 'the browser API cannot send a ping',
          },
          extra: { 'no-subprotocol-abort': aborts },
          run: async (url) => {
            const report = (await page.evaluate(`browserEcho(${JSON.stringify(url)})`)) as PeerReport;
            return { code: 0, stdout: JSON.stringify(report), stderr: '' };
          },
        },
        startEchoServer,
      ),
    );
  }
});
