import t from 'tap';
import { configHelp, configReference } from '../../src/config/config-help.js';
import { configDefaults, createConfig, options } from '../../src/config/config.js';
import type { AnyOptionRecord } from '../../src/config/option.js';
import { authOptions } from '../../src/config/options-auth.js';
import { deliveryOptions } from '../../src/config/options-delivery.js';
import { historyOptions } from '../../src/config/options-history.js';
import { httpOptions } from '../../src/config/options-http.js';
import { limitOptions } from '../../src/config/options-limits.js';
import { namespaceOptions } from '../../src/config/options-namespaces.js';
import { presenceOptions } from '../../src/config/options-presence.js';
import { proxyOptions } from '../../src/config/options-proxy.js';
import { webhookOptions } from '../../src/config/options-webhooks.js';
import { redisOptions } from '../../src/config/options-redis.js';
import { serverOptions } from '../../src/config/options-server.js';
import { sheddingOptions } from '../../src/config/options-shedding.js';
import { tlsOptions } from '../../src/config/options-tls.js';
import { userOptions } from '../../src/config/options-users.js';

/**
 * The option records themselves: each one complete, no name used twice, and `--help` derived from them
 * with every option exactly once.
 */

const records = Object.entries(options) as [string, AnyOptionRecord][];
const kinds = ['string', 'int', 'bytes', 'duration', 'boolean', 'list', 'rules', 'json'];

t.test('every record has an environment variable, a flag, a kind, help text, and a default, a derivation or an explicit unset', async (t) => {
  t.ok(records.length >= 50, `${records.length} options`);
  for (const [key, record] of records) {
    t.match(record.env, /^[A-Z][A-Z0-9_]*$/, `${key}: env is SCREAMING_SNAKE_CASE`);
    t.match(record.flag, /^[a-z][a-z0-9-]*$/, `${key}: flag is kebab-case`);
    t.ok(!record.flag.startsWith('no-'), `${key}: a flag never starts with no- (that negates a boolean)`);
    t.ok(kinds.includes(record.kind), `${key}: kind ${record.kind}`);
    t.ok(record.help.trim().length >= 10, `${key}: has help text`);
    const fallbacks = ['default', 'derive', 'optional'].filter((name) => name in record);
    t.same(fallbacks.length, 1, `${key}: exactly one of default, derive, optional (${fallbacks.join(', ') || 'none'})`);
    if ('default' in record) t.ok(record.schema.safeParse(record.default).success, `${key}: the default passes the schema`);
    if ('optional' in record) t.equal(record.optional, true, `${key}: optional is explicit`);
  }
});

t.test('no key, environment variable or flag names two options', async (t) => {
  const groups = [serverOptions, tlsOptions, redisOptions, authOptions, limitOptions, deliveryOptions, historyOptions, httpOptions, sheddingOptions, userOptions, namespaceOptions, presenceOptions, webhookOptions, proxyOptions];
  const groupKeys = groups.flatMap((group) => Object.keys(group));
  t.same(groupKeys, Object.keys(options), 'every group is in the table, and no key is in two groups (a spread would drop one)');
  const envs = records.map(([, record]) => record.env);
  const flags = records.map(([, record]) => record.flag);
  t.equal(new Set(envs).size, envs.length, 'environment variables are unique');
  t.equal(new Set(flags).size, flags.length, 'flags are unique');
});

t.test('defaults and an empty configuration come from the records alone', async (t) => {
  const config = createConfig();
  t.same(Object.keys(config), Object.keys(options), 'Config has exactly the recorded options, in their order');
  for (const [key, record] of records) {
    const value = (config as unknown as Record<string, unknown>)[key];
    if ('default' in record) t.same((configDefaults as Record<string, unknown>)[key], record.default, `${key}: configDefaults has it`);
    else t.notOk(key in configDefaults, `${key}: no constant default`);
    if ('derive' in record) t.not(value, undefined, `${key}: derived when unset`);
    if ('optional' in record) t.equal(value, undefined, `${key}: undefined when unset`);
  }
});

t.test('--help lists every option exactly once, with its variable, its help text and its default', async (t) => {
  const help = configHelp();
  const optionLines = help.split('\n').filter((line) => /^ {2}--/.test(line));
  t.equal(optionLines.length, records.length, 'one entry per option');
  for (const [key, record] of records) {
    const entries = optionLines.filter((line) => line === `  --${record.flag} / ${record.env}`);
    t.equal(entries.length, 1, `${key}: listed once as --${record.flag} / ${record.env}`);
    const at = help.indexOf(`  --${record.flag} / ${record.env}\n`);
    const text = help.slice(at).split('\n')[1] ?? '';
    t.ok(text.startsWith(`      ${record.help}`), `${key}: followed by its help text`);
    if ('default' in record) t.match(text, /\[[^\]]*\]$/, `${key}: shows its default`);
  }
  t.same(
    configReference().map((entry) => entry.key),
    records.map(([key]) => key),
    'the reference (docs/operations.md) covers the same options in the same order',
  );
});
