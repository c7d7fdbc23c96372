import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { configCommand } from '../../src/config/config-command.js';
import { ConfigError } from '../../src/config/config-error.js';
import { configHelp, configReference } from '../../src/config/config-help.js';
import { describeOption } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { logRedaction } from '../../src/config/log-redaction.js';
import { maskUrlPassword, shownValue } from '../../src/config/option-secret.js';
import { readText } from '../../src/config/option-text.js';
import { type SecretOption, leakedCanaries, secretOptions } from '../helpers/secret-values.js';

/**
 * Configuration never shows a secret (issue 13): every option marked `secret` in its record is fed every
 * value it refuses, through the environment, both flag forms and the typed overrides, and the thrown error
 * (message, stack, and everything `inspect` shows) must name the option and the rule and show no part of the
 * value. The running broker's side (the CLI's output, logs, endpoints, frames) is test/e2e/secrets.test.ts.
 */

const secrets = secretOptions();

t.test('the secret options, from the records: credentials, and the addresses a pasted credential would land in', async (t) => {
  t.same(
    secrets.map(({ record }) => `${record.env}:${record.secret}`),
    ['REDIS_URL:url-password', 'REDIS_CLUSTER_NODES:url-password', 'REDIS_SENTINELS:url-password', 'JWT_SECRET:whole', 'JWKS_URL:url-password', 'ADMIN_TOKEN:whole', 'WEBHOOK_SECRET:whole'],
  );
  for (const { record, bad, good } of secrets) {
    t.ok(bad.length > 0, `${record.env}: refuses some values (${bad.length})`);
    // A whole secret must be usable, or the running-broker test would have nothing to search for.
    if (record.secret === 'whole') t.ok(good.length > 0, `${record.env}: accepts some values (${good.length})`);
  }
});

/**
 * Runs `load`, which must throw a ConfigError naming `secret`'s option (as `field`, by default as env and
 * flag), and checks that nothing the error shows holds any part of the secret.
 */
function refused(t: Test, secret: SecretOption, how: string, load: () => unknown, field: string | RegExp = describeOption(secret.key)): void {
  try {
    load();
    t.fail(`${secret.record.env} ${how}: accepted`);
  } catch (error) {
    t.ok(error instanceof ConfigError, `${secret.record.env} ${how}: a ConfigError`);
    const { message, stack } = error as ConfigError;
    const named = (error as ConfigError).field;
    if (typeof field === 'string') {
      t.equal(named, field, `${how}: names the option`);
      t.match(message, new RegExp(`^invalid configuration: [^:]+: \\S`), `${how}: and a rule`);
    } else {
      // A file's errors name `<file>:<line>[:<column>][: <key path>]`, colons included.
      t.match(named, field, `${how}: names the option`);
      t.match(message, /^invalid configuration: .+: \S/, `${how}: and a rule`);
    }
    t.same(leakedCanaries(`${message}\n${stack}\n${inspect(error)}\n${String(error)}`, [secret]), [], `${how}: shows no part of the secret`);
  }
}

/** Writes `text` as `name` in `dir` and loads it as the configuration file. */
function loadFile(dir: string, name: string, text: string): () => unknown {
  return () => {
    writeFileSync(join(dir, name), text);
    return loadConfig({ env: {}, argv: ['--config', join(dir, name)] });
  };
}

t.test('a refused secret value: the error names the option and the rule, never the value (env, flags, overrides)', async (t) => {
  for (const secret of secrets) {
    const { key, record } = secret;
    for (const text of secret.bad) {
      const reading = readText(record.kind, text);
      refused(t, secret, 'from the environment', () => loadConfig({ env: { [record.env]: text } }));
      refused(t, secret, 'from --flag value', () => loadConfig({ env: {}, argv: [`--${record.flag}`, text] }));
      refused(t, secret, 'from --flag=value', () => loadConfig({ env: {}, argv: [`--${record.flag}=${text}`] }));
      refused(t, secret, 'from the overrides', () => loadConfig({ env: {}, overrides: { [key]: reading.ok ? reading.value : text } }));
    }
  }
});

t.test('an argument after a secret flag is not quoted back: it may be the rest of an unquoted secret with a space', async (t) => {
  for (const secret of secrets) {
    const flag = `--${secret.record.flag}`;
    refused(t, secret, 'followed by a stray word', () => loadConfig({ env: {}, argv: [flag, 'first-word', secret.canary] }));
    refused(t, secret, 'followed by a stray flag', () => loadConfig({ env: {}, argv: [flag, 'first-word', `--${secret.canary}`] }));
  }
  t.throws(() => loadConfig({ env: {}, argv: ['--port', '1', '8080'] }), { field: '8080', message: /unexpected argument/ }, 'after any other option, a stray argument is quoted as before');
});

t.test('a URL password is masked wherever a URL is shown; the rest of the URL stays', async (t) => {
  const cases: [string, string][] = [
    ['redis://:pw@redis.internal:6379', 'redis://:***@redis.internal:6379'],
    ['rediss://app:pw@redis.internal:6380/2', 'rediss://app:***@redis.internal:6380/2'],
    ['redis://pw@redis.internal', 'redis://***@redis.internal'],
    ['redis://app:p@ss:w/rd@redis.internal', 'redis://app:***@redis.internal'],
    ['redis://redis.internal/?db=1&password=pw&name=x', 'redis://redis.internal/?db=1&password=***&name=x'],
    ['app:pw@redis-1:7000', 'app:***@redis-1:7000'],
    ['redis://redis.internal:6379', 'redis://redis.internal:6379'],
    ['redis-1:7000', 'redis-1:7000'],
  ];
  for (const [text, shown] of cases) t.equal(maskUrlPassword(text), shown, text);
  t.same(shownValue('url-password', ['a:1', 'x:pw@b:2']), ['a:1', 'x:***@b:2'], 'each item of a list');
  t.equal(shownValue('whole', 'anything'), undefined, 'a whole secret is not shown at all');
  t.equal(shownValue(undefined, 'visible'), 'visible', 'other options as they are');
  t.throws(
    () => loadConfig({ env: { REDIS_URL: 'http://app:pw@redis.internal:6379' } }),
    { message: 'invalid configuration: REDIS_URL (--redis-url): must be a redis:// or rediss:// URL, got "http://app:***@redis.internal:6379"' },
    'a bad Redis URL is quoted with its password masked',
  );
});

t.test('accepted secret values: --help and the broker logger show none of them', async (t) => {
  for (const { record } of secrets) {
    const reference = configReference().find((entry) => entry.env === record.env);
    t.equal(reference?.fallback === undefined || reference.fallback === '', true, `${record.env}: no default shown`);
  }
  t.same(leakedCanaries(configHelp(), secrets), []);

  let written = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  const logger = pino({ level: 'trace', redact: logRedaction }, sink);
  for (const secret of secrets) {
    for (const text of secret.good) {
      const config = loadConfig({ env: { [secret.record.env]: text } });
      logger.info({ config }, 'a configuration logged whole');
      logger.info({ [secret.key]: config[secret.key] }, 'one option logged');
      logger.info({ req: { headers: { authorization: `Bearer ${text}`, 'sec-websocket-protocol': `pubsub.v1, bearer.${text}` } } }, 'a request');
      logger.info({ request: { token: text } }, 'an auth request');
    }
  }
  t.same(leakedCanaries(written, secrets), [], 'redacted');
  t.match(written, /"redisUrl":"redis:\/\/:\*\*\*@127\.0\.0\.1:6390"/, 'a Redis URL is logged with its password masked');
  t.match(written, /"jwtSecret":"\[redacted\]"/);
  t.match(written, /"sec-websocket-protocol":"pubsub\.v1, bearer\.\[redacted\]"/, 'the subprotocol list stays readable');
});

t.test('a refused secret in a configuration file (YAML or JSON): the error names the file, the line and the key, never the value', async (t) => {
  const dir = t.testdir({});
  for (const secret of secrets) {
    const { key } = secret;
    for (const [index, text] of secret.bad.entries()) {
      const at = (name: string) => new RegExp(`^${join(dir, name).replace(/[.\\]/g, '\\$&')}:2: ${key}`);
      const yaml = `${key}-${index}.yaml`;
      refused(t, secret, `in ${yaml}`, loadFile(dir, yaml, `port: 0\n${key}: ${JSON.stringify(text)}\n`), at(yaml));
      const json = `${key}-${index}.json`;
      refused(t, secret, `in ${json}`, loadFile(dir, json, `{"port": 0,\n "${key}": ${JSON.stringify(text)}}\n`), at(json));
    }
  }
});

t.test('a syntax error inside a secret, or a secret where a key goes: reported by line and column, never quoted', async (t) => {
  const dir = t.testdir({});
  for (const secret of secrets) {
    const { key, canary } = secret;
    const files: [string, string][] = [
      ['escape.yaml', `port: 0\n${key}: "${canary}\\q${canary}"\n`],
      ['unclosed.yaml', `port: 0\n${key}: "${canary}\nhost: x\n`],
      ['indent.yaml', `port: 0\n${key}: ${canary}\n  ${canary}: x\n`],
      ['as-key.yaml', `port: 0\n${canary}${canary}: 1\n`],
      ['unquoted.json', `{"port": 0,\n "${key}": ${canary}}\n`],
      ['escape.json', `{"port": 0,\n "${key}": "${canary}\\q"}\n`],
      ['trailing.json', `{"port": 0,\n "${key}": "${canary}",}\n`],
    ];
    for (const [name, text] of files) refused(t, secret, `${key} in ${name}`, loadFile(dir, `${key}-${name}`, text), /\S/);
  }
});

t.test('`config check` with every secret set in the file: the secrets are masked, a URL keeps its host', async (t) => {
  const dir = t.testdir({});
  const running = secrets.filter((secret) => secret.good.length > 0);
  const file = join(dir, 'secrets.yaml');
  writeFileSync(file, running.map((secret) => `${secret.key}: ${JSON.stringify(secret.good[0])}`).join('\n'));
  const result = configCommand(['check', file], {});
  t.equal(result.code, 0, result.stderr);
  t.same(leakedCanaries(`${result.stdout}${result.stderr}`, secrets), [], 'no secret printed');
  t.match(result.stdout, /\njwtSecret: "\*\*\*" {2}#/, 'a whole secret as ***');
  t.match(result.stdout, /\nredisUrl: redis:\/\/:\*\*\*@127\.0\.0\.1:6390 {2}#/, 'a URL with its password masked');
});
