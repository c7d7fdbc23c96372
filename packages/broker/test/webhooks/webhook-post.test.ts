import { createServer, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { postBatch } from '../../src/webhooks/webhook-post.js';

/** A POST to a backend that accepts the connection and never answers. */

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
/** Far longer than the POST's timeout: reaching it means the timeout never fired. */
const boundMs = 10_000;

t.test('a POST to a backend that never answers ends as a timeout, even when garbage is collected while it waits', async (t) => {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  // A busy broker collects garbage all the time; a timer signal held only weakly would be collected with it.
  const pressure = setInterval(collectGarbage, 20);
  let bound: NodeJS.Timeout | undefined;
  t.teardown(() => {
    clearInterval(pressure);
    clearTimeout(bound);
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const target = { url: `http://127.0.0.1:${port}/events`, secret: 'whsec-a-test-secret-of-at-least-32-bytes', timeoutMs: 300 };
  const outcome = await Promise.race([
    postBatch(target, 'wb_1', '{"batch":"wb_1","node":"n1","events":[]}', new AbortController().signal),
    new Promise<string>((resolve) => (bound = setTimeout(() => resolve('still waiting'), boundMs))),
  ]);
  t.equal(outcome, 'timeout', 'the POST is given up after WEBHOOK_TIMEOUT, so the batch is retried');
  t.equal(sockets.size, 1, 'the backend did receive the POST');
});
