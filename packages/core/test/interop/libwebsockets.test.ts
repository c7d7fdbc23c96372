// Interop with libwebsockets (Debian's libwebsockets-dev 4.1.6), both directions, with and without
// permessage-deflate, through peers/lws_peer.c compiled here.
import t from 'tap';
import { startEchoServer } from '../helpers/echo-peer.js';
import { run, start } from '../helpers/processes.js';
import { buildPeer } from './build-peers.js';
import { runClientPeer, runServerPeer } from './matrix.js';

// Compiling the peer may take a while on a busy machine; tap's default is 120 s for the whole file.
t.setTimeout(300_000);

const binary = await buildPeer({
  name: 'lws_peer',
  source: 'lws_peer.c',
  compiler: 'gcc',
  flags: ['-O1', '-Wall', '-Wextra', '-Werror'],
  pkgConfig: ['libwebsockets'],
});
const PEER = 'libwebsockets 4.1.6';
const EMPTY_DEFLATE =
  'libwebsockets 4.1.6 aborts (an assertion in its permessage-deflate: "want to trim out length 0") when it compresses an empty message';
const NOTES = [
  'libwebsockets splits multi-byte UTF-8 characters across the fragments of a message',
  'libwebsockets hands the application the close payload only when the peer starts the closing handshake (LWS_CALLBACK_WS_PEER_INITIATED_CLOSE); the code in the answer to its own close is not exposed',
];

for (const deflate of [false, true]) {
  const mode = deflate ? 'with permessage-deflate' : 'without compression';
  t.test(`libwebsockets client -> our server, ${mode}`, (t) =>
    runClientPeer(
      t,
      {
        peer: PEER,
        deflate,
        notes: NOTES,
        reasons: deflate
          ? {
              'binary-0': EMPTY_DEFLATE,
              'peer-ping': 'libwebsockets 4.1.6 spins without sending when its client writes a ping with permessage-deflate active',
            }
          : {},
        run: (url) => run(binary, ['client', new URL(url).port, ...(deflate ? ['--deflate'] : [])], { timeoutMs: 60_000 }),
      },
      startEchoServer,
    ),
  );
  t.test(`our client -> libwebsockets server, ${mode}`, (t) =>
    runServerPeer(t, {
      peer: PEER,
      deflate,
      fragments: true,
      notes: NOTES,
      ...(deflate ? { reasons: { 'binary-0': EMPTY_DEFLATE } } : {}),
      start: () => start(binary, ['server', ...(deflate ? ['--deflate'] : [])], /^listening \d+/),
    }),
  );
}
