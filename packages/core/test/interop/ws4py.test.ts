// Interop with Debian's python3-ws4py, both directions. ws4py has no permessage-deflate, so the deflate
// check only proves that nothing was negotiated.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { startEchoServer } from '../helpers/echo-peer.js';
import { run, start } from '../helpers/processes.js';
import { runClientPeer, runServerPeer } from './matrix.js';

const PYTHON = '/usr/bin/python3';
const peer = (name: string): string => fileURLToPath(new URL(`./peers/${name}`, import.meta.url));
const NOTES = [
  'ws4py 0.5.1 implements no permessage-deflate: no deflate rows',
  "ws4py's server keeps the TCP connection open after a closing handshake it started (RFC 6455 §7.1.1 has the server close it); our client ends it after its closeTimeout",
];

t.test('ws4py client -> our server', (t) =>
  runClientPeer(
    t,
    { peer: 'ws4py 0.5.1', deflate: false, notes: NOTES, run: (url) => run(PYTHON, [peer('ws4py_client.py'), url], { timeoutMs: 60_000 }) },
    startEchoServer,
  ),
);

t.test('our client -> ws4py server', (t) =>
  runServerPeer(t, {
    peer: 'ws4py 0.5.1',
    deflate: false,
    fragments: true,
    notes: NOTES,
    start: () => start(PYTHON, [peer('ws4py_server.py')], /^listening \d+/),
  }),
);
