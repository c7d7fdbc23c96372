/**
 * Screenshots of the web console under load, for the README and docs/operations.md:
 *
 *   node --conditions=@switchboard/source --import=tsx packages/broker/scripts/console-screenshot.ts
 *
 * Starts two broker nodes in this process sharing an in-memory cluster (ADMIN_TOKEN, presence on `chat.>`),
 * connects users to both through the SDK, runs steady publishers on a few topics, signs the console in through headless Chromium, opens a tail,
 * searches a user and shows a topic's presence, then writes docs/console.png (a laptop, 1280 px wide) and
 * docs/console-phone.png (a phone, 390 px). The figures are whatever this machine measures.
 */
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@switchboard/client';
import { chromium } from 'playwright-core';
import { buildApp } from '../src/app.js';
import { signJwt } from '../src/auth/jwt.js';
import { createConfig } from '../src/config/config.js';
import { MemoryCluster } from '../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../src/engine/engine-memory.js';
import { writeConsole } from './bundle-console.js';

const adminToken = 'screenshot-admin-token-0123456789abcdef';
const secret = 'screenshot-jwt-secret-0123456789abcdef!!';
const docs = new URL('../../../docs/', import.meta.url);
const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar'];

async function main(): Promise<void> {
  await writeConsole();
  const cluster = new MemoryCluster();
  const start = async (nodeName: string) => {
    const config = createConfig({ logLevel: 'silent', port: 0, nodeName, adminToken, jwtSecret: secret, presence: ['chat.>'], publishRatePerSecond: 0 });
    const app = await buildApp(config, { engine: new MemoryEngine({ cluster }) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    return { app, port: (app.server.address() as AddressInfo).port };
  };
  const nodes = [await start('eu-west-1a'), await start('eu-west-1b')];
  const { port } = nodes[0] as (typeof nodes)[number];
  const clients: Client[] = [];
  const connect = async (user: string, node = 0) => {
    const token = await signJwt({ sub: user, subscribe: ['>'], publish: ['>'], info: { name: user[0]?.toUpperCase() + user.slice(1) } }, secret);
    const client = createClient({ url: `ws://127.0.0.1:${nodes[node]?.port}/`, token });
    clients.push(client);
    return client;
  };
  for (const [index, user] of users.entries()) {
    const client = await connect(user, index % 3 === 0 ? 0 : 1);
    client.subscribe('prices.>', () => undefined);
    if (index % 2 === 0) client.subscribe('chat.lobby', () => undefined);
    if (index % 3 === 0) client.subscribe('orders.eu.*', () => undefined);
    if (index < 4) client.subscribe(`chat.dm.${user}`, () => undefined);
  }
  const publisher = await connect('pricing-service');
  const timers = [
    steady(() => publisher.publish('prices.btc', { bid: 64_000 + Math.round(Math.random() * 100), ask: 64_010 }, { priority: 'high' }), 8),
    steady(() => publisher.publish('prices.eth', { bid: 3_100 + Math.round(Math.random() * 10), ask: 3_101 }), 15),
    steady(() => publisher.publish('orders.eu.4711', { order: 4711, status: 'shipped', items: 3 }), 40),
    steady(() => publisher.publish('chat.lobby', { from: 'carol', text: 'deploy went out, watching the console' }), 120),
  ];

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(`http://127.0.0.1:${port}/console`);
    await page.fill('#token', adminToken);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForSelector('#nodes tr[data-node]');
    await page.fill('#tail-pattern', 'orders.>');
    await page.click('#tail-form button[type=submit]');
    await page.fill('#search', 'alice');
    await page.click('#search-form button[type=submit]');
    await page.fill('#presence-topic', 'chat.lobby');
    await page.click('#presence-form button[type=submit]');
    await page.fill('#publish-topic', 'chat.lobby');
    // Rates are measured over two seconds, topics over the last closed second: let both settle.
    await page.waitForTimeout(4000);
    await page.screenshot({ path: fileURLToPath(new URL('console.png', docs)), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(1500);
    await page.screenshot({ path: fileURLToPath(new URL('console-phone.png', docs)), fullPage: false });
  } finally {
    await browser.close();
    for (const timer of timers) clearInterval(timer);
    await Promise.all(clients.map((client) => client.close()));
    for (const node of nodes) await node.app.close();
  }
  writeFileSync(process.stdout.fd, 'wrote docs/console.png and docs/console-phone.png\n');
}

function steady(publish: () => Promise<unknown>, everyMs: number): NodeJS.Timeout {
  return setInterval(() => void publish().catch(() => undefined), everyMs);
}

main().catch((error: unknown) => {
  process.stderr.write(`console-screenshot: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
