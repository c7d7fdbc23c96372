import { createServer, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Test } from 'tap';

/**
 * A backend that accepts connections and never answers, while garbage is collected every 20 ms as on a busy
 * broker: a request timeout held only weakly (AbortSignal.timeout() inside AbortSignal.any() on Node 20) is
 * collected and never fires, so a call to it hangs. Closed by the test's teardown.
 */
export async function silentBackend(t: Test): Promise<{ readonly url: string; readonly connections: () => number }> {
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const pressure = setInterval(collectGarbage, 20);
  t.teardown(() => {
    clearInterval(pressure);
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { url: `http://127.0.0.1:${port}`, connections: () => sockets.size };
}

/** `promise`, or `'still waiting'` after `ms`: a bound far past the timeout under test. */
export function within<T>(t: Test, promise: Promise<T>, ms = 10_000): Promise<T | 'still waiting'> {
  let bound: NodeJS.Timeout | undefined;
  t.teardown(() => clearTimeout(bound));
  return Promise.race([promise, new Promise<'still waiting'>((resolve) => (bound = setTimeout(() => resolve('still waiting'), ms)))]);
}
