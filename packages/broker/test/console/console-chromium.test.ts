// The web console in headless Chromium (Debian's, driven by playwright-core) against a real broker with
// real connections: a wrong token is refused, the figures move while traffic runs (without reloading), the
// tail shows published messages, a test publish arrives, and a confirmed disconnect closes the connection.
// A second node shares the (in-memory) cluster: the page served by the first disconnects and rebalances on it.
import type { Browser, Page } from 'playwright-core';
import t from 'tap';
import { writeConsole } from '../../scripts/bundle-console.js';
import { signJwt } from '../../src/auth/jwt.js';
import { MemoryCluster } from '../../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { launchChromium } from '@switchboard/client/testing/chromium';
import { Peer } from '../helpers/pubsub-peer.js';
import { type TestBroker, startBroker } from '../helpers/start-broker.js';

const adminToken = 'admin-token-for-the-console-test-0123456789';
const secret = 'a-test-secret-of-at-least-32-bytes!!';

let broker: TestBroker;
/** The other node, named to sort after `test-node` in the nodes table. */
let west: TestBroker;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function openPeer(user?: string, on: TestBroker = broker): Promise<Peer> {
  const headers = user === undefined ? {} : { Authorization: `Bearer ${await signJwt({ sub: user, subscribe: ['>'], publish: ['>'] }, secret)}` };
  const peer = await Peer.open(on.url, { headers });
  t.teardown(() => peer.close());
  return peer;
}

/** Polls the page until `done` accepts the text of `selector` (bounded). */
async function textUntil(selector: string, done: (text: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => null)) ?? '';
    if (done(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last text: ${JSON.stringify(text)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Publishes on `topic` until stopped, each publish acknowledged before the next: steady traffic. */
function traffic(publisher: Peer, topic: string): { stop: () => Promise<number> } {
  let running = true;
  let sent = 0;
  const loop = (async () => {
    while (running) {
      await publisher.publish(topic, { n: sent++, note: 'console test traffic' });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return sent;
    },
  };
}

t.before(async () => {
  await writeConsole();
  const cluster = new MemoryCluster();
  const options = { adminToken, jwtSecret: secret, allowAnonymous: true, presence: ['chat.>'] };
  broker = await startBroker(t, options, { engine: new MemoryEngine({ cluster }) });
  west = await startBroker(t, { ...options, nodeName: 'west-node' }, { engine: new MemoryEngine({ cluster }) });
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().includes('401')) pageErrors.push(message.text());
  });
  await page.goto(`${broker.httpUrl}/console`);
});

t.teardown(async () => {
  await browser?.close();
});

t.test('a wrong token is refused and the page says so; the right one opens the console', async (t) => {
  await page.fill('#token', 'not-the-admin-token-but-long-enough-to-try');
  await page.click('#sign-in-form button[type=submit]');
  const error = await textUntil('#sign-in-error', (text) => text !== '', 'the refusal');
  t.match(error, /refused \(401\)/);
  t.equal(await page.isHidden('#dashboard'), true, 'no dashboard');
  t.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');

  await page.fill('#token', adminToken);
  await page.click('#sign-in-form button[type=submit]');
  await page.waitForSelector('#nodes tr[data-node="test-node"]', { timeout: 30_000 });
  t.equal(await page.isVisible('#dashboard'), true);
  t.notMatch(page.url(), new RegExp(adminToken), 'the token is never in the URL');
});

t.test('the figures move while traffic runs, without reloading', async (t) => {
  await page.evaluate(() => Object.assign(window, { notReloaded: true }));
  const subscriber = await openPeer('watcher');
  await subscriber.subscribe('load.>');
  const publisher = await openPeer();
  await textUntil('#nodes td[data-field="connections"]', (text) => text === '2', 'two connections shown');
  const load = traffic(publisher, 'load.eu');
  try {
    const rateIn = await textUntil('#nodes td[data-field="messagesInPerSecond"]', (text) => text !== '' && text !== '0', 'messages in per second above 0');
    const rateOut = await textUntil('#nodes td[data-field="messagesOutPerSecond"]', (text) => text !== '' && text !== '0', 'messages out per second above 0');
    t.ok(Number.parseFloat(rateIn) > 0 && Number.parseFloat(rateOut) > 0, `in ${rateIn}/s, out ${rateOut}/s`);
    const subscribers = await textUntil('#topics tr[data-topic="load.eu"] td[data-field="subscribers"]', (text) => text === '1', 'the busy topic with its subscriber');
    t.equal(subscribers, '1');
  } finally {
    await load.stop();
  }
  await textUntil('#nodes td[data-field="messagesInPerSecond"]', (text) => text === '0', 'the rate back at 0 after the traffic');
  t.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'the page was never reloaded');
});

t.test('the tail shows the messages published on its pattern', async (t) => {
  const publisher = await openPeer();
  await page.fill('#tail-pattern', 'orders.>');
  await page.click('#tail-form button[type=submit]');
  await textUntil('#tail-status', (text) => text.startsWith('Tailing orders.>'), 'the tail open');
  for (let index = 1; index <= 3; index++) await publisher.publish('orders.eu', { order: index, item: 'book' });
  await publisher.publish('other.topic', { order: 99 });
  await textUntil('#tail li:nth-child(3)', (text) => text.includes('#1 normal'), 'three tail lines');
  const lines = await page.locator('#tail li').allTextContents();
  t.equal(lines.length, 3, 'only the pattern');
  t.match(lines[0], /orders\.eu#3 normal.*\{"order":3,"item":"book"\}/, 'newest first, with topic, offset, priority and payload');
  await page.click('#tail-stop');
  await textUntil('#tail-status', (text) => text.startsWith('Stopped'), 'the tail stopped');
});

t.test('a test message is published after confirmation', async (t) => {
  const subscriber = await openPeer();
  await subscriber.subscribe('console.test');
  await page.fill('#publish-topic', 'console.test');
  await page.fill('#publish-data', '{"hello": "from the console"}');
  await page.click('#publish-form button[type=submit]');
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm-ok');
  const [delivery] = await subscriber.waitForDeliveries(1);
  t.match(delivery, { topic: 'console.test', data: { hello: 'from the console' } });
  await textUntil('#publish-result', (text) => text.startsWith('Published'), 'the answer shown');
});

t.test('disconnect asks first: cancel keeps the connection, confirm closes it with 4404, on another node too', async (t) => {
  const target = await openPeer('alice.target', west);
  await page.fill('#search', 'alice.target');
  await page.click('#search-form button[type=submit]');
  const card = `article[data-connection="${target.welcome.connectionId}"]`;
  await page.waitForSelector(card);
  t.equal(await page.textContent(`${card} [data-field="user"]`), 'alice.target');

  await page.click(`${card} [data-action="disconnect"]`);
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm button[value="cancel"]');
  t.match(await target.publish('still.here', 1), { op: 'published' }, 'cancelled: still connected');

  await page.click(`${card} [data-action="disconnect"]`);
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm-ok');
  t.match(await target.waitClosed(), { code: 4404 }, 'closed by west-node, asked by the node serving the page');
  await textUntil('#notice', (text) => text.includes(`Disconnected ${target.welcome.connectionId} on west-node (4404)`), 'the notice');
});

t.test('disconnect with "tell it to reconnect" checked closes with 4103', async (t) => {
  const target = await openPeer('carol.reconnects');
  await page.fill('#search', 'carol.reconnects');
  await page.click('#search-form button[type=submit]');
  const card = `article[data-connection="${target.welcome.connectionId}"]`;
  await page.waitForSelector(card);
  await page.click(`${card} [data-action="disconnect"]`);
  await page.waitForSelector('#confirm[open]');
  await page.check('#confirm-field');
  await page.click('#confirm-ok');
  t.match(await target.waitClosed(), { code: 4103 });
});

t.test('disconnect user asks first, then closes every connection of the user with 4404', async (t) => {
  const first = await openPeer('bob.twice');
  const second = await openPeer('bob.twice');
  const bystander = await openPeer('bobby');
  await page.fill('#search', 'bob.twice');
  await page.click('#search-form button[type=submit]');
  const card = `article[data-connection="${first.welcome.connectionId}"]`;
  await page.waitForSelector(card);
  t.equal(await page.locator('#search-results article').count(), 2, 'both connections of the user');
  await page.click(`${card} [data-action="disconnect-user"]`);
  await page.waitForSelector('#confirm[open]');
  t.match(await page.textContent('#confirm-text'), /every connection of user “bob\.twice” on every node/);
  await page.click('#confirm-ok');
  t.match(await first.waitClosed(), { code: 4404 });
  t.match(await second.waitClosed(), { code: 4404 });
  await textUntil('#notice', (text) => text.includes('Disconnected 2 connection(s) of bob.twice'), 'the notice');
  t.match(await bystander.publish('still.here', 1), { op: 'published' }, 'another user stays');
});

t.test('rebalance asks for the fraction, then sheds that share of the node it names with 4101, any node', async (t) => {
  const elsewhere = await openPeer('rebalanced', west);
  const here = await openPeer('stays');
  await page.waitForSelector('#nodes tr[data-node="west-node"] [data-action="rebalance"]');
  await page.click('#nodes tr[data-node="west-node"] [data-action="rebalance"]');
  await page.waitForSelector('#confirm[open]');
  await page.fill('#confirm-field', '1');
  await page.click('#confirm-ok');
  t.match(await elsewhere.waitClosed(), { code: 4101 });
  await textUntil('#notice', (text) => text.startsWith('Rebalancing west-node: closing'), 'the notice');
  t.match(await here.publish('still.here', 1), { op: 'published' }, 'the node serving the page sheds nothing');

  await page.click('#nodes tr[data-node="test-node"] [data-action="rebalance"]');
  await page.waitForSelector('#confirm[open]');
  await page.fill('#confirm-field', '1');
  await page.click('#confirm-ok');
  t.match(await here.waitClosed(), { code: 4101 }, 'and the node serving the page itself');
});

t.test('the page ran without script errors or blocked resources', async (t) => {
  t.same(pageErrors, []);
});
