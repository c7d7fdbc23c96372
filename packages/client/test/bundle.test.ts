// The browser bundle: built with the `browser` condition it contains no Node code, and the bundled file
// itself connects with whatever global `WebSocket` the page has (here the `ws` package stands in for the
// browser's, so this runs without a browser; the Chromium tests load the same file in a page).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import WebSocket from 'ws';
import { MINIMAL_PUBSUB_ENTRY, bundle } from '../scripts/bundle.js';
import type * as Sdk from '../src/index.js';
import { startScriptedBroker } from './helpers/scripted-broker.js';
import { Inbox } from './helpers/wait.js';

t.test('the bundle has no Node built-ins, no core engine and no Node transport', async (t) => {
  const result = await bundle();
  t.notOk(result.inputs.some((input) => input.startsWith('node:')), 'no node: modules');
  t.notOk(result.inputs.some((input) => input.includes('core/src')), 'no @switchboard/core');
  t.ok(result.inputs.some((input) => input.endsWith('src/transport/browser.ts')), 'the browser transport');
  t.notOk(result.inputs.some((input) => input.endsWith('src/transport/node.ts')), 'not the Node transport');
  t.equal(result.parts['zod'], 0, 'no zod code: server messages are checked by hand (decode-server.ts)');
  const code = new TextDecoder().decode(result.code);
  t.notMatch(code, /\bfrom\s*["']node:|require\(|process\.env|\bBuffer\./, 'no Node APIs in the code');
  t.ok(result.gzippedBytes > 0);
  t.comment(`bundle: ${(result.minifiedBytes / 1024).toFixed(1)} KiB minified, ${(result.gzippedBytes / 1024).toFixed(1)} KiB gzipped`);
});

t.test('every byte of the bundle is in a named feature area, and a publish/subscribe-only application bundles', async (t) => {
  const result = await bundle();
  const sum = (sizes: Readonly<Record<string, number>>): number => Object.values(sizes).reduce((total, bytes) => total + bytes, 0);
  t.equal(result.areas['other'] ?? 0, 0, 'a new source file needs its area in AREAS (scripts/bundle.ts)');
  t.equal(sum(result.areas), sum(result.parts), 'the areas split the same bytes as the packages');
  const minimal = await bundle({ contents: MINIMAL_PUBSUB_ENTRY });
  t.ok(minimal.gzippedBytes > 0 && minimal.gzippedBytes <= result.gzippedBytes);
  t.comment(`publish/subscribe only: ${(minimal.gzippedBytes / 1024).toFixed(1)} KiB gzipped`);
});

t.test('the bundled file connects through the global WebSocket, token in the bearer subprotocol', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-bundle-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const file = join(directory, 'switchboard.js');
  writeFileSync(file, (await bundle()).code);
  const globals = globalThis as { WebSocket?: unknown };
  const previous = globals.WebSocket;
  globals.WebSocket = WebSocket;
  t.teardown(() => {
    globals.WebSocket = previous;
  });
  const sdk = (await import(pathToFileURL(file).href)) as typeof Sdk;

  const broker = await startScriptedBroker();
  t.teardown(() => broker.close());
  const client = sdk.createClient({ url: broker.url, token: 'tok' });
  t.teardown(() => client.close());
  const connection = await broker.connection(0);
  t.match(connection.headers['sec-websocket-protocol'], /^pubsub\.v1, ?bearer\.tok$/);
  t.equal(connection.headers.authorization, undefined, 'browsers cannot set headers');
  connection.welcome();
  const messages = new Inbox<Sdk.Message<unknown>>();
  client.subscribe('a.*', messages.push);
  const request = await connection.next('subscribe');
  connection.send({ op: 'subscribed', id: request.id, pattern: 'a.*' });
  connection.send({ op: 'message', topic: 'a.b', priority: 'normal', offset: 1, epoch: 'e', data: new Uint8Array([1, 2]) });
  const [message] = await messages.atLeast(1);
  t.same(message?.data, new Uint8Array([1, 2]), 'binary arrives as a Uint8Array');
  const publish = client.publish('a.b', new Uint8Array(200));
  const chunks = [await connection.next('chunk'), await connection.next('chunk'), await connection.next('chunk'), await connection.next('chunk')];
  t.same(chunks.map((chunk) => chunk.data.length), [64, 64, 64, 8]);
  connection.send({ op: 'published', id: 2, offset: 2, epoch: 'e' });
  t.match(await publish, { offset: 2 });
});
