// Interop with Debian's python3-autobahn (asyncio), both directions, with and without permessage-deflate.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { startEchoServer } from '../helpers/echo-peer.js';
import { run, start } from '../helpers/processes.js';
import { runClientPeer, runServerPeer } from './matrix.js';

const PYTHON = '/usr/bin/python3';
const peer = (name: string): string => fileURLToPath(new URL(`./peers/${name}`, import.meta.url));
const NOTES = [
  'Autobahn fragments at a byte count, splitting multi-byte UTF-8 characters across fragments',
  'Autobahn answers a close frame with 1000 rather than echoing the code it received (RFC 6455 §5.5.1 only says "typically")',
];

for (const deflate of [false, true]) {
  const mode = deflate ? 'with permessage-deflate' : 'without compression';
  t.test(`Autobahn client -> our server, ${mode}`, (t) =>
    runClientPeer(
      t,
      {
        peer: 'Autobahn|Python 22.7.1',
        deflate,
        notes: NOTES,
        run: (url) => run(PYTHON, [peer('autobahn_client.py'), url, ...(deflate ? ['--deflate'] : [])], { timeoutMs: 60_000 }),
      },
      startEchoServer,
    ),
  );
  t.test(`our client -> Autobahn server, ${mode}`, (t) =>
    runServerPeer(t, {
      peer: 'Autobahn|Python 22.7.1',
      deflate,
      fragments: true,
      notes: NOTES,
      start: () => start(PYTHON, [peer('autobahn_server.py'), ...(deflate ? ['--deflate'] : [])], /^listening \d+/),
    }),
  );
}
