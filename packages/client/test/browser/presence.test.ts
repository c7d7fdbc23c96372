// Presence in headless Chromium (design §5, §6): two pages, signed in as two users, subscribe to one room
// with presence through the browser bundle. Each sees the other arrive (onJoin, subscription.members); one
// page closes, and the other sees it leave.
import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import t from 'tap';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { serveBundleSite } from '../helpers/bundle-site.js';
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
  site = await serveBundleSite('presence');
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
