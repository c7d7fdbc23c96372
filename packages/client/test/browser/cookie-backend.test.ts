// The cookie-session example (examples/cookie-backend) end to end: a page in headless Chromium signs in with
// an HttpOnly cookie and connects to a real broker process with no token; the broker's connect proxy asks the
// example backend who the cookie is, and the page's rpc is answered by the backend too.
import type { Browser } from 'playwright-core';
import t from 'tap';
import { type CookieBackend, startCookieBackend } from '../../examples/cookie-backend/server.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { launchChromium } from '../helpers/chromium.js';

let broker: BrokerProcess;
let backend: CookieBackend;
let browser: Browser;

t.before(async () => {
  backend = await startCookieBackend({ port: 0 });
  broker = await startBroker(['--proxy-connect-url', `${backend.url}switchboard/connect`, '--proxy-rpc-url', `${backend.url}switchboard/rpc`]);
  browser = await launchChromium();
});

t.teardown(async () => {
  await browser?.close();
  await broker?.stop();
  await backend?.close();
});

t.test('a page signs in with a cookie session through the connect proxy, without a JWT', async (t) => {
  const page = await browser.newPage();
  t.teardown(() => page.close());
  page.on('pageerror', (error) => t.fail(`page error: ${error.message}`));
  await page.goto(`${backend.url}?user=ann&broker=${encodeURIComponent(broker.url)}`);
  await page.waitForFunction(`document.querySelector('#profile').textContent.startsWith('ann since')`, undefined, { timeout: 20_000 });
  t.equal(await page.textContent('#user'), 'ann', 'the broker took the user from the backend');
  t.equal(await page.textContent('#state'), 'connected');
  await page.waitForFunction(`document.querySelector('#messages').textContent.includes('ann: hello from a cookie session')`, undefined, { timeout: 20_000 });
  t.pass('publishes under the grants the backend gave');
  const cookies = await page.context().cookies();
  t.ok(cookies.some((cookie) => cookie.name === 'session' && cookie.httpOnly), 'the session is an HttpOnly cookie the page script cannot read');
});
