// Interop with Debian's python3-websockets, both directions, with and without permessage-deflate.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/index.js';
import { startEchoServer } from '../helpers/echo-peer.js';
import { MessageQueue, closed, opened, pattern } from '../helpers/events.js';
import { run, start } from '../helpers/processes.js';

// Debian's python3-* modules are visible only to the system interpreter.
const PYTHON = '/usr/bin/python3';
const peer = (name: string): string => fileURLToPath(new URL(`./peers/${name}`, import.meta.url));

for (const deflate of [false, true]) {
  const mode = deflate ? 'with permessage-deflate' : 'without compression';

  t.test(`python-websockets client -> our server, ${mode}`, async (t) => {
    const server = await startEchoServer({ protocols: ['pubsub.v1'], perMessageDeflate: deflate ? { threshold: 0 } : false });
    t.teardown(() => server.close());

    const args = [peer('python_websockets_client.py'), server.url, ...(deflate ? ['--deflate'] : [])];
    const result = await run(PYTHON, args, { timeoutMs: 60_000 });
    t.equal(result.code, 0, `client exited cleanly: ${result.stderr}`);
    const report = JSON.parse(result.stdout) as {
      subprotocol: string;
      extensions: string[];
      checks: Record<string, boolean>;
      server_close: [number, string];
      client_close_rcvd: [number, string];
    };
    t.equal(report.subprotocol, 'pubsub.v1', 'subprotocol negotiated');
    t.same(report.extensions, deflate ? ['permessage-deflate'] : [], 'extensions negotiated');
    for (const [check, passed] of Object.entries(report.checks)) t.ok(passed, `echo check ${check}`);
    t.ok(Object.keys(report.checks).length >= 11, 'every check ran');
    t.same(report.server_close, [4001, 'server says bye'], 'the client saw our close code and reason');
    // RFC 6455 §5.5.1: the reply echoes the status code; we send no reason back.
    t.same(report.client_close_rcvd, [4000, ''], 'our echo of the client close carries its code');
    t.same(await server.closeOf(1), { code: 4000, reason: 'client done', wasClean: true }, 'our server saw the client close code, cleanly');
  });

  t.test(`our client -> python-websockets server, ${mode}`, async (t) => {
    const server = await start(PYTHON, [peer('python_websockets_server.py'), ...(deflate ? ['--deflate'] : [])], /^listening \d+/);
    t.teardown(() => server.stop());
    const port = Number(server.readyLine.split(' ')[1]);
    const websocket = connect(`ws://127.0.0.1:${port}/`, {
      protocols: ['pubsub.v1'],
      perMessageDeflate: deflate ? { threshold: 0 } : false,
    });
    const messages = new MessageQueue(websocket);
    await opened(websocket);
    t.equal(websocket.protocol, 'pubsub.v1', 'subprotocol negotiated');
    t.equal(websocket.extensions.startsWith('permessage-deflate'), deflate, 'extension negotiated');

    for (const text of ['hello, switchboard', 'κόσμε 🚀 ünïcödé 世界']) {
      websocket.send(text);
      const echo = await messages.next();
      t.same(echo, { data: text, isBinary: false }, `text echo ${JSON.stringify(text.slice(0, 8))}`);
    }
    for (const size of [0, 125, 126, 65535, 65536, 1 << 20]) {
      const data = pattern(size);
      websocket.send(data);
      const echo = await messages.next();
      t.ok(echo.isBinary && Buffer.compare(echo.data as Buffer, data) === 0, `binary echo of ${size} bytes`);
    }
    const pong = new Promise<Buffer>((resolve) => websocket.once('pong', resolve));
    websocket.ping(Buffer.from('are you there'));
    t.equal((await pong).toString(), 'are you there', 'pong carries the ping payload');

    const closing = closed(websocket);
    websocket.send('close:4002:python says bye');
    t.same(await closing, { code: 4002, reason: 'python says bye', wasClean: true }, 'server-initiated close code');
  });
}
