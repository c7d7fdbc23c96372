import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { formatPath } from '../../src/config/config-file-document.js';
import { createConfig } from '../../src/config/config.js';
import { loadConfig, resolveConfig } from '../../src/config/load-config.js';
import { editDistance, nearestKey } from '../../src/config/nearest-key.js';

/**
 * `--config FILE` (issue 15): YAML and JSON keyed by the options' camelCase names, below the environment and
 * flags; errors naming the file, the line and the key path; unknown keys with a suggestion. `config check`
 * and `config example` are config-command.test.ts; that no secret is printed from a file, secrets.test.ts.
 */

/** Writes `files` into a fresh directory (once per test: another call replaces it) and returns their paths by name. */
function files(t: Test, contents: Record<string, string>): Record<string, string> {
  const dir = t.testdir(contents);
  return Object.fromEntries(Object.keys(contents).map((name) => [name, join(dir, name)]));
}

function fileError(t: Test, load: () => unknown, field: string, message: string | RegExp): void {
  try {
    load();
    t.fail(`expected a ConfigError at ${field}`);
  } catch (error) {
    t.ok(error instanceof ConfigError, `${field}: a ConfigError`);
    t.equal((error as ConfigError).field, field, `names ${field}`);
    t.match((error as ConfigError).message, message);
  }
}

t.test('a YAML file sets options by their camelCase keys, typed or as text read like the environment', async (t) => {
  const { 'a.yaml': file } = files(t, {
    'a.yaml': [
      '# a comment',
      'host: 0.0.0.0',
      'port: 9000',
      'maxQueuedBytes: 2MiB',
      'historyTtlMs: 5m',
      'perMessageDeflate: yes',
      'allowedOrigins: [https://a.example]',
      'anonymousPublish: "a.>, b.>"',
      'slowConsumerRules:',
      '  - { pattern: "prices.>", policy: conflate }',
      '  - pattern: orders.>',
      '    policy: disconnect',
      'nodeName:',
      'maxConnections: null',
      '',
    ].join('\n'),
  }) as { 'a.yaml': string };
  const config = loadConfig({ env: {}, argv: ['--config', file] });
  t.equal(config.host, '0.0.0.0');
  t.equal(config.port, 9000);
  t.equal(config.maxQueuedBytes, 2 * 1024 * 1024, 'a size as text');
  t.equal(config.historyTtlMs, 300_000, 'a duration as text');
  t.equal(config.perMessageDeflate, true, 'a boolean word as text');
  t.same(config.allowedOrigins, ['https://a.example'], 'a list as a YAML list');
  t.same(config.anonymousPublish, ['a.>', 'b.>'], 'a list as comma-separated text');
  t.same(config.slowConsumerRules, [
    { pattern: 'prices.>', policy: 'conflate' },
    { pattern: 'orders.>', policy: 'disconnect' },
  ]);
  t.equal(config.maxConnections, createConfig().maxConnections, 'null: unset, the default');
  t.ok(config.nodeName.length > 0, 'empty: unset, derived');
  t.same(loadConfig({ env: {}, argv: [`--config=${file}`] }), config, '--config=FILE works too');
});

t.test('a JSON file: the same keys; an empty YAML file sets nothing', async (t) => {
  const paths = files(t, {
    'b.json': '{\n\t"port": 9001,\n\t"slowConsumerRules": [{"pattern": "a.>", "policy": "conflate"}],\n\t"chunkTimeoutMs": "10s"\n}\n',
    'empty.yaml': '# nothing yet\n',
  });
  const config = loadConfig({ env: {}, argv: ['--config', paths['b.json'] as string] });
  t.equal(config.port, 9001);
  t.same(config.slowConsumerRules, [{ pattern: 'a.>', policy: 'conflate' }]);
  t.equal(config.chunkTimeoutMs, 10_000);
  t.same(loadConfig({ env: {}, argv: ['--config', paths['empty.yaml'] as string] }), loadConfig({ env: {} }));
});

t.test('precedence: the file, then the environment, then flags, then overrides; each value knows its origin', async (t) => {
  const { 'p.yaml': file } = files(t, { 'p.yaml': 'port: 1000\nhost: 0.0.0.0\nmaxConnections: 7\nmaxSubscriptions: 8\n' }) as { 'p.yaml': string };
  const { config, origins } = resolveConfig({
    env: { PORT: '2000', MAX_CONNECTIONS: '70' },
    argv: ['--config', file, '--port', '3000'],
    overrides: { maxSubscriptions: 9 },
  });
  t.equal(config.port, 3000, 'a flag beats the environment and the file');
  t.equal(config.maxConnections, 70, 'the environment beats the file');
  t.equal(config.host, '0.0.0.0', 'the file beats the default');
  t.equal(config.maxSubscriptions, 9, 'overrides beat everything');
  t.same(origins.port, { from: 'flag', name: '--port' });
  t.same(origins.maxConnections, { from: 'env', name: 'MAX_CONNECTIONS' });
  t.same(origins.host, { from: 'file', at: `${file}:2` });
  t.same(origins.maxSubscriptions, { from: 'override' });
  t.same([origins.logLevel, origins.nodeName, origins.jwtSecret], [{ from: 'default' }, { from: 'derived' }, { from: 'unset' }]);
});

t.test('errors name the file, the line, the key path and the rule', async (t) => {
  const paths = files(t, {
    'typo.yaml': 'port: 1\nmaxQueueBytes: 5\n',
    'env-name.yaml': 'port: 1\n\nMAX_QUEUED_BYTES: 5\n',
    'flag-name.yaml': 'history-ttl: 5s\n',
    'far.yaml': 'port: 1\ncolour: blue\n',
    'nested-key.yaml': 'slowConsumerRules:\n  - pattern: a.>\n    policy: conflate\n  - patern: b.>\n    policy: conflate\n',
    'nested-value.yaml': 'slowConsumerRules:\n  - pattern: a.>\n    policy: drop\n',
    'missing.yaml': 'slowConsumerRules:\n  - policy: conflate\n',
    'text.yaml': 'port: 1\nmaxQueuedBytes: lots\n',
    'type.yaml': 'port: [1]\n',
    'range.yaml': 'port: 70000\n',
    'rule.yaml': 'chunkBytes: 1MiB\nmaxMessageBytes: 64KiB\n',
    'syntax.yaml': 'port: 1\n  host: x\n',
    'tabs.yaml': 'port: 1\nhost:\n\t- x\n',
    'duplicate.yaml': 'port: 1\nport: 2\n',
    'list.yaml': '- port: 1\n',
    'scalar.yaml': 'port\n',
    'bad.json': '{"port": 1,\n "host": "x",}\n',
    'keys.json': '{"port": 1,\n "hots": "x"}\n',
    'config.toml': 'port = 1\n',
  });
  const load = (name: string) => () => loadConfig({ env: {}, argv: ['--config', paths[name] as string] });
  const at = (name: string, line?: number) => `${paths[name]}${line === undefined ? '' : `:${line}`}`;
  fileError(t, load('typo.yaml'), `${at('typo.yaml', 2)}: maxQueueBytes`, /: unknown key; did you mean maxQueuedBytes\?$/);
  fileError(t, load('env-name.yaml'), `${at('env-name.yaml', 3)}: MAX_QUEUED_BYTES`, /did you mean maxQueuedBytes\?$/);
  fileError(t, load('flag-name.yaml'), `${at('flag-name.yaml', 1)}: history-ttl`, /did you mean historyTtlMs\?$/);
  fileError(t, load('far.yaml'), `${at('far.yaml', 2)}: colour`, /: unknown key$/);
  fileError(t, load('nested-key.yaml'), `${at('nested-key.yaml', 4)}: slowConsumerRules[1].patern`, /unknown key; did you mean pattern\?$/);
  fileError(t, load('nested-value.yaml'), `${at('nested-value.yaml', 3)}: slowConsumerRules[0].policy`, /expected one of .*, got "drop"$/);
  fileError(t, load('missing.yaml'), `${at('missing.yaml', 2)}: slowConsumerRules[0].pattern`, /is required$/);
  fileError(t, load('text.yaml'), `${at('text.yaml', 2)}: maxQueuedBytes`, /must be a byte count such as 65536, 64KiB or 1MiB, got "lots"$/);
  fileError(t, load('type.yaml'), `${at('type.yaml', 1)}: port`, /expected number/);
  fileError(t, load('range.yaml'), `${at('range.yaml', 1)}: port`, /must be an integer from 0 to 65535, got 70000$/);
  fileError(t, load('rule.yaml'), `${at('rule.yaml', 2)}: maxMessageBytes`, /must be at least CHUNK_BYTES \(1048576\), got 65536$/);
  fileError(t, load('syntax.yaml'), `${at('syntax.yaml', 1)}:7`, /is not valid YAML: /);
  fileError(t, load('tabs.yaml'), `${at('tabs.yaml', 3)}:1`, /is not valid YAML: /);
  fileError(t, load('duplicate.yaml'), `${at('duplicate.yaml', 2)}:1`, /is not valid YAML: the same key twice in one mapping$/);
  fileError(t, load('list.yaml'), at('list.yaml'), /must be a mapping of option keys to values/);
  fileError(t, load('scalar.yaml'), at('scalar.yaml'), /must be a mapping of option keys to values/);
  fileError(t, load('bad.json'), `${at('bad.json', 2)}:14`, /: is not valid JSON$/);
  fileError(t, load('keys.json'), `${at('keys.json', 2)}: hots`, /did you mean host\?$/);
  fileError(t, load('config.toml'), at('config.toml'), /must be \.yaml, \.yml or \.json/);
  fileError(t, () => loadConfig({ env: {}, argv: ['--config', join(t.testdirName, 'none.yaml')] }), join(t.testdirName, 'none.yaml'), /: no such file$/);
  fileError(t, () => loadConfig({ env: {}, argv: ['--config'] }), '--config', /needs a file/);
  fileError(t, () => loadConfig({ env: {}, argv: ['--config', paths['typo.yaml'] as string, '--config', 'x.yaml'] }), '--config', /once/);
  fileError(t, () => loadConfig({ env: {}, argv: ['--config', paths['rule.yaml'] as string], overrides: { maxMessageBytes: 1 } }), 'MAX_MESSAGE_BYTES (--max-message-bytes)', /at least CHUNK_BYTES/);
});

t.test('the nearest known key: edit distance with transpositions, case and separators ignored', async (t) => {
  t.equal(editDistance('kitten', 'sitting'), 3);
  t.equal(editDistance('port', 'prot'), 1, 'a transposition is one edit');
  t.equal(editDistance('', 'abc'), 3);
  t.equal(editDistance('abcdef', 'uvwxyz', 2), 2, 'stops at the bound');
  const keys = new Map([
    ['port', ['port', 'PORT', 'port']],
    ['host', ['host', 'HOST', 'host']],
    ['maxQueuedBytes', ['maxQueuedBytes', 'MAX_QUEUED_BYTES', 'max-queued-bytes']],
  ]);
  t.equal(nearestKey('prot', keys), 'port');
  t.equal(nearestKey('Max_Queued_Bytes', keys), 'maxQueuedBytes');
  t.equal(nearestKey('maxQueuedByte', keys), 'maxQueuedBytes');
  t.equal(nearestKey('somethingElse', keys), undefined, 'nothing near: no suggestion');
  t.equal(formatPath(['namespaces', 'chat.', 'historySize']), 'namespaces["chat."].historySize');
  t.equal(formatPath(['slowConsumerRules', 1, 'policy']), 'slowConsumerRules[1].policy');
});
