// The SDK in headless Chromium (Debian's, driven by playwright-core): a page served by the test loads the
// browser bundle, connects to a real broker with the browser's own WebSocket, subscribes, publishes text
// and binary, receives a large chunked message with an urgent one overtaking it (both directions, over a
// slow link), and survives a broker restart.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import t from 'tap';
import { type Client, type Message, createClient } from '../../src/index.js';
import { serveBundleSite } from '../helpers/bundle-site.js';
import { launchChromium } from '../helpers/chromium.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';
import { Inbox, delay } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const harness = readFileSync(fileURLToPath(new URL('./harness.js', import.meta.url)), 'utf8');

interface Received {
  topic: string;
  kind: string;
  size: number;
  priority: string;
  text: string;
  checksum: number;
}

let broker: BrokerProcess;
let slowLink: TcpProxy;
let site: { server: Server; url: string };
let browser: Browser;
let page: Page;
let node: Client;


function inPage<T>(expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** Polls an expression in the page until `done` accepts its value. */
async function waitInPage<T>(expression: string, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await inPage<T>(expression);
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await delay(20);
  }
}

function receivedAtLeast(count: number, what: string): Promise<Received[]> {
  return waitInPage<Received[]>('window.harness.received', (messages) => messages.length >= count, what);
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum * 31 + byte) >>> 0;
  return sum;
}

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + seed) & 0xff;
  return bytes;
}

t.before(async () => {
  broker = await startBroker(['--chunk-bytes', '16KiB', '--max-message-bytes', '8MiB', '--max-queued-bytes', '32MiB', '--publish-rate', '0']);
  // The page reaches the broker over a slow link, so its socket really backs up in both directions.
  slowLink = await startTcpProxy(broker.port, { bytesPerSecond: 4 * MiB });
  site = await serveBundleSite('switchboard');
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (error) => t.fail(`page error: ${error.message}`));
  await page.goto(site.url);
  await page.waitForFunction('window.switchboard !== undefined');
  await page.addScriptTag({ content: harness });
  node = createClient({ url: broker.url, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } });
});

t.teardown(async () => {
  await node?.close();
  await browser?.close();
  await new Promise<void>((resolve) => (site?.server ? site.server.close(() => resolve()) : resolve()));
  await slowLink?.close();
  await broker?.stop();
});

t.test('the page loads the bundle and connects with the native WebSocket', async (t) => {
  t.equal(await inPage<string>('typeof window.switchboard.createClient'), 'function');
  t.equal(await inPage<string>(`window.harness.connect(${JSON.stringify(slowLink.url)})`), 'connected');
  t.same(await inPage<string[]>('window.harness.states'), ['connected']);
});

t.test('the page publishes text and binary; Node and the page itself receive them', async (t) => {
  const nodeSide = new Inbox<Message<unknown>>();
  await node.subscribe('chat.*', nodeSide.push);
  t.match(await inPage(`window.harness.publishText('chat.lobby', { user: 'page', text: 'héllo' }, 'normal')`), { topic: 'chat.lobby', offset: 1 });
  t.match(await inPage(`window.harness.publishBinary('chat.bytes', 1000, 3, 'normal')`), { topic: 'chat.bytes', offset: 1 });
  await nodeSide.atLeast(2);
  t.same(nodeSide.items[0]!.data, { user: 'page', text: 'héllo' });
  t.ok(nodeSide.items[1]!.data instanceof Uint8Array && checksum(nodeSide.items[1]!.data) === checksum(pattern(1000, 3)), 'the bytes arrive in Node unchanged');
  t.match(await receivedAtLeast(2, 'the page to receive both'), [
    { topic: 'chat.lobby', kind: 'object', text: '{"user":"page","text":"héllo"}' },
    { topic: 'chat.bytes', kind: 'binary', size: 1000, checksum: checksum(pattern(1000, 3)) },
  ], 'the page receives its own messages, binary as a Uint8Array');
});

t.test('to the page: a large chunked message arrives whole, and an urgent one overtakes it', async (t) => {
  await inPage('window.harness.received.length = 0');
  const large = pattern(6 * MiB, 5);
  await node.publish('files.download', large, { priority: 'low' });
  await node.publish('alerts.fire', 'to the page', { priority: 'high' });
  await node.publish('alerts.later', 'same priority as the download', { priority: 'low' });
  const seen = await receivedAtLeast(3, 'the three messages');
  t.same(seen.map((message) => message.topic), ['alerts.fire', 'files.download', 'alerts.later'], 'high overtook the 6 MiB delivery');
  t.match(seen[1], { kind: 'binary', size: large.length, checksum: checksum(large) }, 'reassembled from 384 chunks, byte for byte');
});

t.test('from the page: an urgent publish overtakes a large upload (bufferedAmount polled)', async (t) => {
  const nodeSide = new Inbox<string>();
  await node.subscribe('files.>', (message) => nodeSide.push(message.topic));
  await node.subscribe('alerts.*', (message) => nodeSide.push(message.topic));
  const offsets = await inPage<number[]>(`window.harness.uploadWithUrgent(${6 * MiB})`);
  t.equal(offsets.length, 3, 'all three acknowledged');
  await nodeSide.atLeast(3, 'the three messages', 30_000);
  t.same(nodeSide.items.slice(0, 3), ['alerts.fire', 'files.upload', 'alerts.later']);
});

t.test('the page survives a broker restart: it reconnects, resubscribes and receives again', async (t) => {
  await broker.restart();
  await node.whenConnected();
  const states = await waitInPage<string[]>('window.harness.states', (list) => list.length > 1 && list.at(-1) === 'connected', 'the page to reconnect');
  t.match(states.join(' > '), /^connected > disconnected 1006 > reconnecting( > disconnected 1006 > reconnecting)* > connected$/);
  await inPage('window.harness.received.length = 0');
  // The page subscribes again on its own, right after its welcome: a publish that reaches the new broker
  // before that subscribe has nobody to go to (the restarted broker has no history of it). So publish until
  // one arrives, a bounded number of times; what must hold is that the page receives again with no help.
  let arrived: Received[] = [];
  for (let attempt = 0; attempt < 50 && arrived.length === 0; attempt++) {
    await node.publish('chat.after', { text: 'after the restart' });
    await delay(100);
    arrived = await inPage<Received[]>('window.harness.received');
  }
  t.match(arrived[0], { topic: 'chat.after', text: '{"text":"after the restart"}' }, 'a message after the restart');
  t.same(await inPage<string[]>('window.harness.errors'), []);
});
