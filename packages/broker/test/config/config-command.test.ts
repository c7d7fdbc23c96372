import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { configCommand } from '../../src/config/config-command.js';
import { configExample } from '../../src/config/config-example.js';
import { createConfig, options } from '../../src/config/config.js';
import { loadConfig, resolveConfig } from '../../src/config/load-config.js';

/**
 * `switchboard config check FILE` and `switchboard config example` (issue 15), as the CLI runs them: what
 * they print and their exit codes. The process itself is test/e2e/config-file.test.ts.
 */

/** Writes `files` into a fresh directory (once per test: another call replaces it) and returns their paths by name. */
function files(t: Test, contents: Record<string, string>): Record<string, string> {
  const dir = t.testdir(contents);
  return Object.fromEntries(Object.keys(contents).map((name) => [name, join(dir, name)]));
}

t.test('`config example` lists every option with its help, variable and flag, and loads back as the defaults', async (t) => {
  const example = configExample();
  const { 'example.yaml': file } = files(t, { 'example.yaml': example }) as { 'example.yaml': string };
  const loaded = resolveConfig({ env: {}, argv: ['--config', file] });
  t.same(loaded.config, createConfig(), 'the example is the defaults');
  const lines = example.split('\n');
  for (const [key, record] of Object.entries(options)) {
    const at = lines.findIndex((line) => line === `# ${key}:` || line.startsWith(`${key}:`));
    t.ok(at > 1, `${key} is in the example`);
    t.equal(lines[at - 1]?.startsWith(`# env ${record.env}, flag --${record.flag}`), true, `${key}: its variable and flag`);
    t.ok(example.includes(record.help.split(' ').slice(0, 4).join(' ')), `${key}: its help text`);
    const set = 'default' in record;
    t.equal(lines[at]?.startsWith('#'), !set, set ? `${key}: set to its default` : `${key}: commented out (no fixed default)`);
    if (set) t.same(loaded.origins[key as keyof typeof loaded.origins], { from: 'file', at: `${file}:${at + 1}` }, `${key}: read from its line`);
  }
});

t.test('`config check`: the effective configuration with origins, which loads back; exit 2 on an invalid file', async (t) => {
  const paths = files(t, {
    'ok.yaml': 'port: 1000\nmaxQueuedBytes: 2MiB\nanonymousPublish: [">"]\nslowConsumerRules: [{ pattern: "prices.>", policy: conflate }]\n',
    'bad.yaml': 'port: 1000\nmaxQueueBytes: 2MiB\n',
  });
  const result = configCommand(['check', paths['ok.yaml'] as string, '--max-connections', '5'], { HOST: '0.0.0.0' });
  t.equal(result.code, 0);
  t.equal(result.stderr, '');
  const printed = parse(result.stdout) as Record<string, unknown>;
  t.same(printed.port, 1000);
  t.match(result.stdout, `\nport: 1000  # ${paths['ok.yaml']}:1\n`, 'a value from the file with its line');
  t.match(result.stdout, '\nhost: 0.0.0.0  # HOST\n', 'from the environment');
  t.match(result.stdout, '\nmaxConnections: 5  # --max-connections\n', 'from a flag');
  t.match(result.stdout, '\nlogLevel: info  # default\n');
  t.match(result.stdout, '\n# jwtSecret: (unset)\n');
  const again = join(dirname(paths['ok.yaml'] as string), 'printed.yaml');
  writeFileSync(again, result.stdout);
  t.same(loadConfig({ env: {}, argv: ['--config', again] }), loadConfig({ env: { HOST: '0.0.0.0' }, argv: ['--config', paths['ok.yaml'] as string, '--max-connections', '5'] }), 'loads back');
  const bad = configCommand(['check', paths['bad.yaml'] as string], {});
  t.equal(bad.code, 2);
  t.equal(bad.stdout, '');
  t.equal(bad.stderr, `switchboard: invalid configuration: ${paths['bad.yaml']}:2: maxQueueBytes: unknown key; did you mean maxQueuedBytes?\n`);
  t.equal(configCommand(['check'], {}).code, 2, 'no file: usage');
  t.equal(configCommand(['frobnicate'], {}).code, 2, 'unknown subcommand: usage');
  t.match(configCommand(['frobnicate'], {}).stderr, /switchboard config check FILE/);
  t.equal(configCommand(['example'], {}).stdout, configExample());
});
