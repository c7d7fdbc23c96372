// Echo server for conformance suites and interop peers: every message comes back with its type.
//   node --conditions=@switchboard/source --import=tsx packages/core/examples/echo-server.ts --port 9001 [--deflate] [--host 127.0.0.1] [--protocol p ...]
// A client that offers subprotocols gets the first one it offers back (or, with --protocol, the first of those
// it also offers): browsers and `ws` fail a handshake that offered one and got none, and an echo speaks any.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { handleUpgrade } from '../src/index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9001' },
    host: { type: 'string', default: '127.0.0.1' },
    deflate: { type: 'boolean', default: false },
    protocol: { type: 'string', multiple: true, default: [] },
  },
});

const server = createServer((_request, response) => {
  response.writeHead(426, { 'Content-Type': 'text/plain' }).end('WebSocket only\n');
});

// The tokens a client offers, unique, in its order; a malformed header is left to handleUpgrade to refuse.
function offeredProtocols(header: string | undefined): string[] {
  const offered = (header ?? '').split(',').map((protocol) => protocol.trim());
  return [...new Set(offered.filter((protocol) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(protocol)))];
}

server.on('upgrade', (request, socket, head) => {
  const websocket = handleUpgrade(request, socket, head, {
    // Conformance suites send 16 MiB messages in thousands of fragments.
    maxMessageSize: 64 * 1024 * 1024,
    protocols: values.protocol.length > 0 ? values.protocol : offeredProtocols(request.headers['sec-websocket-protocol']),
    perMessageDeflate: values.deflate ? {} : false,
  });
  if (websocket === undefined) return;
  websocket.on('message', (data, isBinary) => {
    if (websocket.readyState !== 1) return;
    websocket.send(isBinary ? (data as Buffer) : (data as string));
  });
});

server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : values.port;
  process.stdout.write(`echo-server listening on ${values.host}:${port}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
