// Presence in headless Chromium (design §5, §6): two pages, signed in as two users, subscribe to one room
// with presence through the browser bundle. Each sees the other arrive (onJoin, subscription.members); one
// page closes, and the other sees it leave.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import t from 'tap';
import { bundle } from '../../scripts/bundle.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { launchChromium } from '../helpers/chromium.js';
import { TEST_JWT_SECRET, signTestJwt } from '../helpers/jwt.js';
import { delay } from '../helpers/wait.js';

/** Page-side code, plain JavaScript: the page keeps what it saw in `window.room`. */
const roomScript = `
window.joinRoom = async (url, token) => {
  const room = { joins: [], leaves: [], members: [], errors: [] };
  window.room = room;
  const client = window.switchboard.createClient({ url, token });
  client.on('error', (error) => room.errors.push(error.code + ': ' + error.message));
  const subscription = client.subscribe('chat.room1', () => {}, {
    presence: 'user',
    onJoin: (event) => room.joins.push(event.user + ' ' + (event.info && event.info.name)),
    onLeave: (event) => room.leaves.push(event.user + ' ' + event.reason),
    onMembers: (change) => { room.members = [...change.members.keys()].sort(); },
  });
  await subscription;
  room.user = client.user;
  window.roomClient = client;
  window.roomSubscription = subscription;
  return client.user;
};`;

let broker: BrokerProcess;
let site: { server: Server; url: string };
let browser: Browser;

async function serveSite(): Promise<{ server: Server; url: string }> {
  const code = (await bundle()).code;
  const html = `<!doctype html><meta charset="utf-8"><title>presence</title>
<script type="module">import * as switchboard from '/switchboard.js'; window.switchboard = switchboard;</script>`;
  const server = createServer((request, response) => {
    if (request.url === '/switchboard.js') response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(code);
    else if (request.url === '/') response.writeHead(200, { 'Content-Type': 'text/html' }).end(html);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function openPage(user: string, name: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => t.fail(`page error (${user}): ${error.message}`));
  await page.goto(site.url);
  await page.waitForFunction('window.switchboard !== undefined');
  await page.addScriptTag({ content: roomScript });
  const token = signTestJwt({ sub: user, info: { name }, subscribe: ['chat.>'], publish: ['chat.>'] });
  t.equal(await page.evaluate(`window.joinRoom(${JSON.stringify(broker.url)}, ${JSON.stringify(token)})`), user);
  return page;
}

/** Polls the page until `done` accepts what `expression` gives (bounded). */
async function waitFor<T>(page: Page, expression: string, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = (await page.evaluate(expression)) as T;
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await delay(25);
  }
}

t.before(async () => {
  broker = await startBroker(['--jwt-secret', TEST_JWT_SECRET, '--presence', 'chat.>']);
  site = await serveSite();
  browser = await launchChromium();
});

t.teardown(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (site?.server ? site.server.close(() => resolve()) : resolve()));
  await broker?.stop();
});

t.test('two pages see each other join, and one sees the other leave', async (t) => {
  const ann = await openPage('ann', 'Ann');
  t.same(await waitFor<string[]>(ann, 'window.room.members', (members) => members.length === 1, 'ann to list herself'), ['ann']);
  const bob = await openPage('bob', 'Bob');
  t.same(await waitFor<string[]>(bob, 'window.room.members', (members) => members.length === 2, 'bob to list both'), ['ann', 'bob']);
  t.same(await waitFor<string[]>(ann, 'window.room.members', (members) => members.length === 2, 'ann to see bob arrive'), ['ann', 'bob']);
  t.ok(((await ann.evaluate('window.room.joins')) as string[]).includes('bob Bob'), 'ann got bob\'s join, with his info');

  await bob.close();
  t.same(await waitFor<string[]>(ann, 'window.room.members', (members) => members.length === 1, 'ann to see bob leave'), ['ann']);
  t.same(await ann.evaluate('window.room.leaves'), ['bob disconnected'], 'a closed page leaves as disconnected');
  t.same(await ann.evaluate('window.room.errors'), []);
});
