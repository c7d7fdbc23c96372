// Interop with WebSocket++ (Debian's libwebsocketpp-dev 0.8.2 on Boost.Asio), both directions, with and
// without permessage-deflate, through peers/websocketpp_peer.cpp compiled here.
import t from 'tap';
import { startEchoServer } from '../helpers/echo-peer.js';
import { run, start } from '../helpers/processes.js';
import { buildPeer } from './build-peers.js';
import { runClientPeer, runServerPeer } from './matrix.js';

// Compiling the peer takes about 20 s of CPU (more on a busy machine); tap's default is 120 s per file.
t.setTimeout(300_000);

// -O0: the templates take half a minute to optimise and the peer needs no speed.
const binary = await buildPeer({ name: 'websocketpp_peer', source: 'websocketpp_peer.cpp', compiler: 'g++', flags: ['-std=c++17', '-O0'], libs: ['-lz', '-lpthread'] });
const PEER = 'WebSocket++ 0.8.2';
const NOTES = [
  "WebSocket++ 0.8.2 sends fragments through its message buffers (connection::get_message, message::set_fin(false), then continuation-opcode messages), uncompressed even with permessage-deflate (its compressor works per frame and would set RSV1 on continuation frames), and checks UTF-8 per text frame, so its first fragment must end on a character boundary",
];

for (const deflate of [false, true]) {
  const mode = deflate ? 'with permessage-deflate' : 'without compression';
  t.test(`WebSocket++ client -> our server, ${mode}`, (t) =>
    runClientPeer(
      t,
      {
        peer: PEER,
        deflate,
        notes: NOTES,
        run: (url) => run(binary, ['client', url, ...(deflate ? ['--deflate'] : [])], { timeoutMs: 60_000 }),
      },
      startEchoServer,
    ),
  );
  t.test(`our client -> WebSocket++ server, ${mode}`, (t) =>
    runServerPeer(t, {
      peer: PEER,
      deflate,
      fragments: true,
      notes: NOTES,
      start: () => start(binary, ['server', ...(deflate ? ['--deflate'] : [])], /^listening \d+/),
    }),
  );
}
