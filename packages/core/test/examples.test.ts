// The echo examples are what conformance suites drive: keep them runnable exactly as the README says.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { WebSocket as WsClient, WebSocketServer } from 'ws';
import { run, start } from './helpers/processes.js';
import { pattern } from './helpers/events.js';

const example = (name: string): string => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
const NODE_ARGS = ['--conditions=@switchboard/source', '--import=tsx'];

t.test('echo-server --deflate echoes a 16 MiB message sent in 4096 fragments, and every type', async (t) => {
  const server = await start(process.execPath, [...NODE_ARGS, example('echo-server.ts'), '--port', '0', '--deflate'], /listening on/);
  t.teardown(() => server.stop());
  const port = Number(/:(\d+)/.exec(server.readyLine)![1]);

  const client = new WsClient(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true, maxPayload: 64 * 1024 * 1024 });
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  t.match(client.extensions, /permessage-deflate/, 'deflate negotiated');
  const replies: { data: Buffer; isBinary: boolean }[] = [];
  let wanted = 3;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  client.on('message', (data, isBinary) => {
    replies.push({ data: data as Buffer, isBinary });
    if (replies.length === wanted) done();
  });
  client.send('héllo');
  client.send(Buffer.from([0, 1, 2]));
  const big = pattern(16 * 1024 * 1024);
  const fragment = 4096;
  for (let offset = 0; offset < big.length; offset += fragment) {
    client.send(big.subarray(offset, offset + fragment), { binary: true, fin: offset + fragment >= big.length, compress: false });
  }
  await all;
  t.same(replies[0], { data: Buffer.from('héllo'), isBinary: false }, 'text comes back as text');
  t.same(replies[1], { data: Buffer.from([0, 1, 2]), isBinary: true }, 'binary comes back as binary');
  t.ok(replies[2]!.isBinary && Buffer.compare(replies[2]!.data, big) === 0, '16 MiB fragmented message echoed whole');
  wanted = Infinity;
  client.close(1000);
});

t.test('echo-client echoes what the server sends until the server closes', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const { port } = wss.address() as AddressInfo;
  const echoes = new Promise<[string, boolean][]>((resolve) => {
    wss.once('connection', (peer) => {
      const got: [string, boolean][] = [];
      peer.on('message', (data, isBinary) => {
        got.push([isBinary ? (data as Buffer).toString('hex') : data.toString(), isBinary]);
        if (got.length === 2) {
          peer.close(1000, 'suite done');
          resolve(got);
        }
      });
      peer.send('case 1');
      peer.send(Buffer.from([0xde, 0xad]));
    });
  });
  const client = run(process.execPath, [...NODE_ARGS, example('echo-client.ts'), '--url', `ws://127.0.0.1:${port}/runCase?case=1`], { timeoutMs: 20_000 });
  t.same(await echoes, [['case 1', false], ['dead', true]]);
  const result = await client;
  t.equal(result.code, 0, `exits by itself once closed: ${result.stderr}`);
  t.match(result.stdout, /closed 1000 suite done/);
});

// The command line exactly as the README writes it (its port made free, `[--deflate]` left out and put in),
// against `ws` offering a subprotocol as a pubsub.v1 client does: `ws` fails a handshake that offered one and
// got none, so the server must answer with it.
t.test("the README's echo-server command line serves `ws` offering a subprotocol, and one offering none", async (t) => {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  const line = readme.split('\n').find((candidate) => candidate.includes('examples/echo-server.ts'));
  t.ok(line?.startsWith('node ') && line.includes('--port 9001 [--deflate]'), `the README line: ${line}`);
  const words = line!.replace('--port 9001', '--port 0').split(/\s+/).slice(1);
  for (const deflate of [false, true]) {
    const args = words.flatMap((word) => (word === '[--deflate]' ? (deflate ? ['--deflate'] : []) : [word]));
    const server = await start(process.execPath, args, /listening on/, { cwd: fileURLToPath(new URL('../../..', import.meta.url)) });
    t.teardown(() => server.stop());
    const port = Number(/:(\d+)/.exec(server.readyLine)![1]);
    for (const protocols of [['pubsub.v1', 'other.v2'], []]) {
      const client = new WsClient(`ws://127.0.0.1:${port}/`, protocols, { perMessageDeflate: deflate });
      await new Promise((resolve, reject) => {
        client.once('open', resolve);
        client.once('error', reject);
      });
      t.equal(client.protocol, protocols[0] ?? '', `deflate ${deflate}: offered [${protocols}], selected ${client.protocol}`);
      const echoed = new Promise((resolve) => client.once('message', (data, isBinary) => resolve([String(data), isBinary])));
      client.send('ping from ws');
      t.same(await echoed, ['ping from ws', false], 'and the message comes back');
      await new Promise((resolve) => {
        client.once('close', resolve);
        client.close(1000);
      });
    }
    await server.stop();
  }
});
