// The example app (examples/chat) end to end: its page in headless Chromium, its Node publisher, and a
// real broker. Keeps the example working as the SDK changes.
import t from 'tap';
import { startPublisher } from '../../examples/chat/publisher.js';
import { startSite } from '../../examples/chat/serve.js';
import { startBroker } from '../helpers/broker-process.js';
import { launchChromium } from '../helpers/chromium.js';

t.test('the example page shows live figures, chats with the bot and receives alerts', async (t) => {
  const broker = await startBroker();
  t.teardown(() => broker.stop());
  const site = await startSite(0);
  t.teardown(() => site.close());
  const publisher = startPublisher(broker.url, 100);
  t.teardown(() => publisher.stop());
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  page.on('pageerror', (error) => t.fail(`page error: ${error.message}`));

  await page.goto(`${site.url}?broker=${encodeURIComponent(broker.url)}`);
  await page.waitForSelector('#state.connected', { timeout: 20_000 });
  t.match(await page.textContent('#connection'), /^c/, 'the connection id is shown');
  await page.waitForFunction(`document.querySelector('#metrics-cpu').textContent.endsWith('%')`, undefined, { timeout: 20_000 });
  t.pass('live figures arrive');

  await page.fill('input[name=user]', 'ann');
  await page.fill('input[name=text]', 'hello bot');
  await page.click('#chat button');
  await page.waitForFunction(`document.querySelector('#messages').textContent.includes('bot: you said "hello bot"')`, undefined, { timeout: 20_000 });
  t.match(await page.textContent('#messages'), /ann: hello bot[\s\S]*bot: you said "hello bot"/, 'the message and the bot answer, in order');

  await publisher.client.publish('alerts.test', { level: 'critical', text: 'from the test' }, { priority: 'high' });
  await page.waitForFunction(`document.querySelector('#alert').textContent.includes('from the test')`, undefined, { timeout: 20_000 });
  t.pass('an alert shows');
});
