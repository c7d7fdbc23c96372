import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { eventually } from '../helpers/start-broker.js';
import { type SwitchboardProcess, runSwitchboard } from '../helpers/switchboard-process.js';

/**
 * The `switchboard` process with a configuration file (issue 15): `--config` below the environment and
 * flags, `switchboard config check` and `config example` as commands, and `--help` naming them. What the file
 * parser accepts and refuses is test/config/config-file.test.ts; secrets, test/e2e/secrets.test.ts.
 */

function run(args: readonly string[], env: Record<string, string> = {}): SwitchboardProcess {
  const child = runSwitchboard(args, env);
  t.teardown(() => {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  });
  return child;
}

t.test('switchboard --config FILE: the file sets the options, the environment and flags override it', async (t) => {
  const dir = t.testdir({
    'switchboard.yaml': 'port: 0\nnodeName: from-file\nwsPath: /from-file\nlogLevel: silent\nmaxConnections: 3\n',
  });
  const child = run(['--config', join(dir, 'switchboard.yaml'), '--ws-path', '/from-flag'], { LOG_LEVEL: 'info' });
  await eventually(() => child.output().includes('switchboard broker listening') || child.process.exitCode !== null, 60_000, 'the broker started');
  const url = /"url":"(ws:\/\/[^"]+)"/.exec(child.output())?.[1] ?? '';
  t.match(url, /\/from-flag$/, 'a flag beats the file');
  t.match(child.output(), /"level":30/, 'the environment (LOG_LEVEL=info) beats the file (silent)');
  const health = (await (await fetch(`http://127.0.0.1:${new URL(url).port}/healthz`)).json()) as { node: string };
  t.equal(health.node, 'from-file', 'the file beats the default');
  child.process.kill('SIGTERM');
  t.equal(await child.exited, 0);
});

t.test('switchboard config example | check: exit 0 and YAML; a bad file: exit 2 naming the file and line; --help names them', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'port: 1\nmaxQueueBytes: 1MiB\n' });
  const example = run(['config', 'example']);
  t.equal(await example.exited, 0);
  const examplePath = join(dir, 'example.yaml');
  writeFileSync(examplePath, example.output());
  t.equal((parse(example.output()) as { port: number }).port, 8080, 'the example is YAML with the defaults');
  const check = run(['config', 'check', examplePath, '--port', '9'], { PORT: '7' });
  t.equal(await check.exited, 0);
  t.match(check.output(), '\nport: 9  # --port\n');
  const bad = run(['config', 'check', join(dir, 'bad.yaml')]);
  t.equal(await bad.exited, 2);
  t.equal(bad.output(), `switchboard: invalid configuration: ${join(dir, 'bad.yaml')}:2: maxQueueBytes: unknown key; did you mean maxQueuedBytes?\n`);
  const start = run(['--config', join(dir, 'bad.yaml')]);
  t.equal(await start.exited, 2, 'the broker does not start with it either');
  const help = run(['--help']);
  t.equal(await help.exited, 0);
  t.match(help.output(), /--config FILE/);
  t.match(help.output(), /switchboard config check FILE/);
  t.match(help.output(), /switchboard config example/);
});
