// Interop with Debian's python3-websockets, both directions, with and without permessage-deflate.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { startEchoServer } from '../helpers/echo-peer.js';
import { run, start } from '../helpers/processes.js';
import { runClientPeer, runServerPeer } from './matrix.js';

// Debian's python3-* modules are visible only to the system interpreter.
const PYTHON = '/usr/bin/python3';
const peer = (name: string): string => fileURLToPath(new URL(`./peers/${name}`, import.meta.url));
const NOTES = ['python-websockets ends a fragmented message with an empty continuation frame'];

for (const deflate of [false, true]) {
  const mode = deflate ? 'with permessage-deflate' : 'without compression';
  t.test(`python-websockets client -> our server, ${mode}`, (t) =>
    runClientPeer(
      t,
      {
        peer: 'python-websockets 10.4',
        deflate,
        notes: NOTES,
        run: (url) => run(PYTHON, [peer('python_websockets_client.py'), url, ...(deflate ? ['--deflate'] : [])], { timeoutMs: 60_000 }),
      },
      startEchoServer,
    ),
  );
  t.test(`our client -> python-websockets server, ${mode}`, (t) =>
    runServerPeer(t, {
      peer: 'python-websockets 10.4',
      deflate,
      fragments: true,
      notes: NOTES,
      start: () => start(PYTHON, [peer('python_websockets_server.py'), ...(deflate ? ['--deflate'] : [])], /^listening \d+/),
    }),
  );
}
