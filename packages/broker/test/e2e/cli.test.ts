import t from 'tap';
import { runSwitchboard } from '../helpers/switchboard-process.js';
import { freePort } from '../helpers/topology-processes.js';

/**
 * The README's command line, `pnpm start -- --port 8080`: pnpm hands the `--` on to the broker, which must
 * take it as the end-of-options marker it is, not refuse it as an unknown flag.
 */

async function healthz(port: number): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
  } catch {
    return undefined;
  }
}

t.test('`switchboard -- --port N` (what `pnpm start -- --port N` runs) listens on N', async (t) => {
  const port = await freePort();
  const child = runSwitchboard(['--', '--port', String(port)]);
  t.teardown(() => {
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
  });
  let status: number | undefined;
  for (const deadline = Date.now() + 60_000; status === undefined && child.process.exitCode === null && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    status = await healthz(port);
  }
  t.equal(status, 200, `GET /healthz on port ${port} answers (output: ${child.output().slice(0, 300)})`);
  t.notMatch(child.output(), /unknown flag/);
  child.process.kill('SIGTERM');
  t.equal(await child.exited, 0, 'and it stops cleanly on SIGTERM');
});

t.test('a `--` that is not first is still refused: the broker takes no positional arguments', async (t) => {
  const child = runSwitchboard(['--port', '0', '--', 'stray']);
  t.equal(await child.exited, 2);
  t.match(child.output(), /unknown flag|unexpected argument/);
});
