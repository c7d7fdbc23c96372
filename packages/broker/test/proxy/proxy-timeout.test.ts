import { createServer, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { ProxyClient } from '../../src/proxy/proxy-client.js';

/** A proxy call to a backend that accepts the connection and never answers. */

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
/** Far longer than the call's timeout: reaching it means the timeout never fired. */
const boundMs = 10_000;

t.test('a call to a backend that never answers ends as a timeout and frees its slot, even when garbage is collected meanwhile', async (t) => {
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
  const client = new ProxyClient({ timeoutMs: 300, maxConcurrent: 1, breakerFailures: 100, breakerCooldownMs: 1000 });
  t.teardown(() => {
    clearInterval(pressure);
    clearTimeout(bound);
    client.close();
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const outcome = await Promise.race([
    client.call('connect', `http://127.0.0.1:${port}/connect`, { headers: {} }),
    new Promise<string>((resolve) => (bound = setTimeout(() => resolve('still waiting'), boundMs))),
  ]);
  t.match(outcome, { ok: false, outcome: 'timeout' }, 'the call is given up after PROXY_TIMEOUT');
  t.equal(client.inFlight, 0, 'its concurrency slot is free again');
  t.equal(sockets.size, 1, 'the backend did receive the call');
});
