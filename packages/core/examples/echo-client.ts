// Echo client for conformance suites: connects and sends back every message until the server closes.
//   node --conditions=@switchboard/source --import=tsx packages/core/examples/echo-client.ts --url ws://127.0.0.1:9001/ [--deflate]
import { parseArgs } from 'node:util';
import { connect } from '../src/index.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    deflate: { type: 'boolean', default: false },
    protocol: { type: 'string', multiple: true, default: [] },
  },
});
if (values.url === undefined) {
  process.stderr.write('usage: echo-client --url ws://host:port/path [--deflate] [--protocol p]\n');
  process.exit(2);
}

const websocket = connect(values.url, {
  maxMessageSize: 64 * 1024 * 1024,
  protocols: values.protocol,
  perMessageDeflate: values.deflate ? {} : false,
});
websocket.on('message', (data, isBinary) => {
  if (websocket.readyState !== 1) return;
  websocket.send(isBinary ? (data as Buffer) : (data as string));
});
websocket.on('close', (code, reason) => {
  process.stdout.write(`closed ${code} ${reason}\n`);
});
websocket.on('error', (error) => {
  process.stderr.write(`error ${error.code}: ${error.message}\n`);
  process.exitCode = 1;
});
