// Interop with the npm `ws` package, both directions, with and without permessage-deflate.
import t, { type Test } from 'tap';
import type { AddressInfo } from 'node:net';
import { WebSocket as WsClient, WebSocketServer } from 'ws';
import { startEchoServer } from '../helpers/echo-peer.js';
import { pattern } from '../helpers/events.js';
import { FRAGMENTED, PEER_CLOSE, SIZES, TEXTS, US_CLOSE, runClientPeer, runServerPeer } from './matrix.js';

const PEER = `ws ${(await import('ws/package.json', { with: { type: 'json' } })).default.version}`;
const fragmentedBytes = Buffer.from(FRAGMENTED, 'utf8');

/** ws as the client, in this process: the same checks the external client peers run. */
async function wsClientChecks(url: string, deflate: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  const checks: Record<string, boolean> = {};
  const client = new WsClient(url, ['pubsub.v1'], { perMessageDeflate: deflate, maxPayload: 64 * 1024 * 1024 });
  const inbox: { data: Buffer; isBinary: boolean }[] = [];
  const waiters: ((message: { data: Buffer; isBinary: boolean }) => void)[] = [];
  client.on('message', (data, isBinary) => {
    const message = { data: data as Buffer, isBinary };
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  const next = (): Promise<{ data: Buffer; isBinary: boolean }> =>
    inbox.length > 0 ? Promise.resolve(inbox.shift()!) : new Promise((resolve) => waiters.push(resolve));
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  for (const [name, text] of Object.entries(TEXTS)) {
    client.send(text);
    const reply = await next();
    checks[name] = !reply.isBinary && reply.data.toString('utf8') === text;
  }
  for (const [name, size] of Object.entries(SIZES)) {
    client.send(pattern(size));
    const reply = await next();
    checks[name] = reply.isBinary && Buffer.compare(reply.data, pattern(size)) === 0;
  }
  // ws sends a fragment per call with fin: false; these split the 2-byte "ό" across fragments.
  client.send(fragmentedBytes.subarray(0, 6), { binary: false, fin: false, compress: false });
  client.send(fragmentedBytes.subarray(6, 14), { binary: false, fin: false, compress: false });
  client.send(fragmentedBytes.subarray(14), { binary: false, fin: true, compress: false });
  const fragmented = await next();
  checks['fragments-in'] = !fragmented.isBinary && fragmented.data.toString('utf8') === FRAGMENTED;
  // Our server answers "fragments" with the same text in fragments, a ping between them.
  client.send('fragments');
  const ours = await next();
  checks['fragments-out'] = !ours.isBinary && ours.data.toString('utf8') === FRAGMENTED;
  const pong = new Promise<Buffer>((resolve) => client.once('pong', resolve));
  client.ping(Buffer.from('are you there'));
  checks['peer-ping'] = (await pong).toString() === 'are you there';
  const closing = new Promise<[number, string]>((resolve) => client.once('close', (code, reason) => resolve([code, reason.toString()])));
  client.send(`close:${US_CLOSE.code}:${US_CLOSE.reason}`);
  const [code, reason] = await closing;
  checks['close-from-us'] = code === US_CLOSE.code && reason === US_CLOSE.reason;

  const second = new WsClient(url, ['pubsub.v1'], { perMessageDeflate: deflate });
  await new Promise((resolve) => second.once('open', resolve));
  second.close(PEER_CLOSE.code, PEER_CLOSE.reason);
  await new Promise((resolve) => second.once('close', resolve));
  const report = { subprotocol: client.protocol, extensions: client.extensions, checks };
  return { code: 0, stdout: JSON.stringify(report), stderr: '' };
}

/** Chromium and ws fail the connection when they offered a subprotocol and the server selected none. */
async function abortsWithoutSubprotocol(t: Test): Promise<boolean> {
  const server = await startEchoServer({ protocols: [] });
  t.teardown(() => server.close());
  const client = new WsClient(server.url, ['pubsub.v1']);
  return new Promise((resolve) => {
    let opened = false;
    client.once('open', () => (opened = true));
    client.once('error', () => {});
    client.once('close', (code) => resolve(!opened && code === 1006));
  });
}

for (const deflate of [false, true]) {
  const mode = deflate ? 'with permessage-deflate' : 'without compression';
  t.test(`ws client -> our server, ${mode}`, async (t) =>
    runClientPeer(
      t,
      { peer: PEER, deflate, run: (url) => wsClientChecks(url, deflate), extra: { 'no-subprotocol-abort': await abortsWithoutSubprotocol(t) } },
      startEchoServer,
    ),
  );

  t.test(`our client -> ws server, ${mode}`, (t) =>
    runServerPeer(t, {
      peer: PEER,
      deflate,
      fragments: true,
      start: async () => {
        const log: string[] = [];
        const wss = new WebSocketServer({
          host: '127.0.0.1',
          port: 0,
          perMessageDeflate: deflate ? { threshold: 0 } : false,
          maxPayload: 64 * 1024 * 1024,
          handleProtocols: (protocols) => (protocols.has('pubsub.v1') ? 'pubsub.v1' : false),
        });
        wss.on('connection', (peer) => {
          peer.on('message', (data, isBinary) => {
            const text = isBinary ? undefined : (data as Buffer).toString('utf8');
            if (text?.startsWith('close:')) {
              const [, code, reason = ''] = text.split(':');
              peer.close(Number(code), reason);
            } else if (text === 'fragments') {
              peer.send(fragmentedBytes.subarray(0, 6), { binary: false, fin: false });
              peer.send(fragmentedBytes.subarray(6, 14), { binary: false, fin: false });
              peer.send(fragmentedBytes.subarray(14), { binary: false, fin: true });
            } else {
              peer.send(data as Buffer, { binary: isBinary });
            }
          });
          peer.on('close', (code, reason) => log.push(`closed ${code} ${reason.toString()}`));
        });
        await new Promise((resolve) => wss.once('listening', resolve));
        return {
          readyLine: `listening ${(wss.address() as AddressInfo).port}`,
          output: () => log.join('\n'),
          stop: () => new Promise<void>((resolve) => wss.close(() => resolve())),
        };
      },
    }),
  );
}
