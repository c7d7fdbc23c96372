// The example app (examples/chat) end to end: its page in headless Chromium, its Node publisher, and a
// real broker started as the example's README says (JWT_SECRET, PRESENCE=chat.>). Keeps the example working
// as the SDK changes.
import type { Browser, Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { startPublisher } from '../../examples/chat/publisher.js';
import { type Site, startSite } from '../../examples/chat/serve.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { launchChromium } from '../helpers/chromium.js';
import { TEST_JWT_SECRET } from '../helpers/jwt.js';

let broker: BrokerProcess;
let site: Site;
let browser: Browser;

t.before(async () => {
  broker = await startBroker(['--jwt-secret', TEST_JWT_SECRET, '--presence', 'chat.>']);
  site = await startSite({ secret: TEST_JWT_SECRET, port: 0 });
  browser = await launchChromium();
});

t.teardown(async () => {
  await browser?.close();
  await site?.close();
  await broker?.stop();
});

/** Opens the page as `user` in `room` and waits until it is connected. */
async function openPage(t: Test, user: string, room: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => t.fail(`page error (${user}): ${error.message}`));
  await page.goto(`${site.url}?user=${user}&room=${room}&broker=${encodeURIComponent(broker.url)}`);
  await page.waitForSelector('#state.connected', { timeout: 20_000 });
  return page;
}

/** Waits (bounded) until the element's text is `expected`; on time-out, says what it showed instead. */
async function waitForText(page: Page, selector: string, expected: string): Promise<void> {
  try {
    await page.waitForFunction(([s, e]) => document.querySelector(s)?.textContent === e, [selector, expected] as const, { timeout: 20_000 });
  } catch (error) {
    throw new Error(`${selector} never showed "${expected}"; it shows "${await page.textContent(selector)}"`, { cause: error });
  }
}

t.test('the example page shows live figures, chats with the bot and receives alerts', async (t) => {
  const publisher = startPublisher(broker.url, TEST_JWT_SECRET, 100);
  t.teardown(() => publisher.stop());
  const page = await openPage(t, 'ann', 'lobby');
  t.teardown(() => page.close());
  t.match(await page.textContent('#connection'), /^c/, 'the connection id is shown');
  t.equal(await page.textContent('#user'), 'ann', 'signed in with the token serve.ts minted');
  await page.waitForFunction(`document.querySelector('#metrics-cpu').textContent.endsWith('%')`, undefined, { timeout: 20_000 });
  t.pass('live figures arrive');

  await page.fill('input[name=text]', 'hello bot');
  await page.click('#chat button');
  await page.waitForFunction(`document.querySelector('#messages').textContent.includes('bot: you said "hello bot"')`, undefined, { timeout: 20_000 });
  t.match(await page.textContent('#messages'), /ann: hello bot[\s\S]*bot: you said "hello bot"/, 'the message and the bot answer, in order');
  await waitForText(page, '#members', 'In the room: ann');
  t.pass('the bot reads the room through a wildcard and is not listed in it');

  await publisher.client.publish('alerts.test', { level: 'critical', text: 'from the test' }, { priority: 'high' });
  await page.waitForFunction(`document.querySelector('#alert').textContent.includes('from the test')`, undefined, { timeout: 20_000 });
  t.pass('an alert shows');
});

t.test('two users see each other arrive, see the other typing, and see the other leave', async (t) => {
  const ann = await openPage(t, 'ann', 'presence');
  t.teardown(() => ann.close());
  await waitForText(ann, '#members', 'In the room: ann');
  await waitForText(ann, '#viewing', '1 viewing');

  const bob = await openPage(t, 'bob', 'presence');
  await waitForText(bob, '#members', 'In the room: ann, bob');
  await waitForText(bob, '#viewing', '2 viewing');
  await waitForText(ann, '#members', 'In the room: ann, bob');
  await waitForText(ann, '#viewing', '2 viewing');
  t.pass('each sees the other arrive');

  t.equal(await ann.textContent('#typing'), '', 'nobody types yet');
  await bob.locator('input[name=text]').pressSequentially('hi a');
  await waitForText(ann, '#typing', 'bob is typing...');
  t.equal(await bob.textContent('#typing'), '', 'bob is not told that he types');
  await bob.locator('input[name=text]').pressSequentially('nn');
  await bob.click('#chat button');
  await ann.waitForFunction(`document.querySelector('#messages').textContent.includes('bob: hi ann')`, undefined, { timeout: 20_000 });
  await waitForText(ann, '#typing', '');
  t.pass('ann sees bob typing, then his message, which ends the indicator');

  await bob.close();
  await waitForText(ann, '#members', 'In the room: ann');
  await waitForText(ann, '#viewing', '1 viewing');
  t.pass('ann sees bob leave when his page closes');
});
