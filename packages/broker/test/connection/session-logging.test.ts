// A session's logger: its child logger (with the connection id in every line) is made on first use, and a
// connection that opens and closes with debug lines off never makes one: at thousands of connections a
// pino child each cost a microsecond and its garbage on every close.
import t from 'tap';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Peer } from '../helpers/pubsub-peer.js';
import { eventually, startBroker } from '../helpers/start-broker.js';

function countingLogger(level: string): { logger: Logger; lines: () => string; children: () => number } {
  let written = '';
  let children = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  const logger = pino({ level }, sink);
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<Logger['child']>) => {
    children++;
    return child(...args);
  }) as Logger['child'];
  return { logger, lines: () => written, children: () => children };
}

t.test('debug off: a connection opens and closes without a child logger', async (t) => {
  const { logger, children } = countingLogger('info');
  const broker = await startBroker(t, {}, { logger });
  const before = children();
  const peer = await Peer.open(broker.url);
  await peer.close();
  await eventually(() => broker.broker.connectionCount === 0, 5_000, 'the session is gone');
  t.equal(children(), before, 'no child logger made');
});

t.test("debug on: the close is logged with the connection's id", async (t) => {
  const { logger, lines } = countingLogger('debug');
  const broker = await startBroker(t, {}, { logger });
  const peer = await Peer.open(broker.url);
  const connectionId = peer.welcome.connectionId;
  await peer.close();
  await eventually(() => lines().includes('"msg":"connection closed"'), 5_000, 'the close line');
  const line = lines().split('\n').find((entry) => entry.includes('"msg":"connection closed"'));
  t.match(JSON.parse(line!), { connectionId, code: 1000, initiatedByUs: false });
});
