import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { type ConfigInput, createConfig } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { NamespaceResolver, type NamespaceSettings, payloadTooBig } from '../../src/config/namespace-resolver.js';

/**
 * Namespaces (issue 15): the one resolver every per-topic setting goes through, and the `namespaces` option
 * in a file, the environment and flags. The settings at work in a running broker are
 * test/e2e/namespaces.test.ts.
 */

function resolver(input: ConfigInput): NamespaceResolver {
  return new NamespaceResolver(createConfig(input));
}

function configError(t: Test, load: () => unknown, field: string | RegExp, message: RegExp): void {
  try {
    load();
    t.fail('expected a ConfigError');
  } catch (error) {
    t.ok(error instanceof ConfigError, 'a ConfigError');
    t.match((error as ConfigError).field, field);
    t.match((error as ConfigError).message, message);
  }
}

t.test('no namespaces: every topic gets the top-level options, as one shared object', async (t) => {
  const namespaces = resolver({ historySize: 7, historyTtlMs: 1000, publishRatePerSecond: 3, publishRateBurst: 4, maxMessageBytes: 100_000 });
  t.ok(namespaces.isEmpty);
  const settings = namespaces.namespaceFor('chat.room');
  t.equal(settings, namespaces.topLevel);
  t.same(settings, {
    prefix: undefined,
    historySize: 7,
    historyTtlMs: 1000,
    history: { size: 7, ttlMs: 1000 },
    recovery: true,
    latest: false,
    subscribe: undefined,
    publish: undefined,
    publishRate: { perSecond: 3, burst: 4, bucket: '' },
    maxMessageBytes: 100_000,
    slowConsumerPolicy: undefined,
  });
  t.same(namespaces.namespacesFor('>'), [settings]);
  t.equal(resolver({ historySize: 0 }).topLevel.history, undefined, 'history size 0: nothing kept');
});

t.test('the longest prefix wins; unset settings come from the nearest enclosing namespace, then the top level', async (t) => {
  const namespaces = resolver({
    historySize: 100,
    historyTtlMs: 300_000,
    publishRatePerSecond: 100,
    publishRateBurst: 200,
    namespaces: {
      'chat.': { historySize: 50, subscribe: 'authenticated', publish: 'authenticated', publishRatePerSecond: 5, maxMessageBytes: 4096 },
      'chat.vip.': { publish: 'nobody', recovery: false },
      'chat.vip.gold.': { historyTtlMs: 1000, publishRateBurst: 1 },
      'prices.': { historySize: 0, slowConsumerPolicy: 'conflate' },
    },
  });
  t.notOk(namespaces.isEmpty);
  t.equal(namespaces.namespaceFor('news.today'), namespaces.topLevel, 'outside every namespace');
  t.equal(namespaces.namespaceFor('chat'), namespaces.topLevel, '`chat.` does not hold `chat`');
  t.equal(namespaces.namespaceFor('chatter.x'), namespaces.topLevel, 'a prefix is whole segments');
  const chat = namespaces.namespaceFor('chat.room');
  t.match(chat, {
    prefix: 'chat.',
    history: { size: 50, ttlMs: 300_000 },
    recovery: true,
    subscribe: 'authenticated',
    publish: 'authenticated',
    publishRate: { perSecond: 5, burst: 200, bucket: 'chat.' },
    maxMessageBytes: 4096,
    slowConsumerPolicy: undefined,
  });
  t.equal(namespaces.namespaceFor('chat.eu.room'), chat, 'deeper topics of the same namespace');
  const vip = namespaces.namespaceFor('chat.vip.room');
  t.match(vip, { prefix: 'chat.vip.', history: { size: 50 }, recovery: false, subscribe: 'authenticated', publish: 'nobody', maxMessageBytes: 4096 });
  t.equal(vip.publishRate, chat.publishRate, 'no rate of its own: the enclosing bucket');
  const gold = namespaces.namespaceFor('chat.vip.gold.room');
  t.match(gold, { prefix: 'chat.vip.gold.', history: { size: 50, ttlMs: 1000 }, recovery: false, publish: 'nobody' });
  t.same(gold.publishRate, { perSecond: 5, burst: 1, bucket: 'chat.vip.gold.' }, 'a burst of its own: a bucket of its own, the rate inherited');
  const prices = namespaces.namespaceFor('prices.AAPL');
  t.match(prices, { history: undefined, historySize: 0, slowConsumerPolicy: 'conflate', publishRate: { bucket: '' } });
});

t.test('the namespaces a pattern reaches: its home, and every more specific one it overlaps', async (t) => {
  const namespaces = resolver({ namespaces: { 'chat.': {}, 'chat.vip.': {}, 'prices.': {}, 'a.b.c.': {} } });
  // The home first, then the others in any order.
  const prefixes = (pattern: string) => {
    const [home, ...others] = namespaces.namespacesFor(pattern).map((settings: NamespaceSettings) => settings.prefix ?? '(top)');
    return [home, ...others.sort()];
  };
  t.same(prefixes('chat.room'), ['chat.'], 'a topic: its namespace');
  t.same(prefixes('chat.vip.room'), ['chat.vip.'], 'a topic in a nested namespace: that one only');
  t.same(prefixes('chat.*'), ['chat.'], '`chat.*` is two segments: too short for `chat.vip.` topics');
  t.same(prefixes('chat.*.x'), ['chat.', 'chat.vip.'], '`chat.*.x` reaches `chat.vip.x`');
  t.same(prefixes('chat.eu.>'), ['chat.'], 'a literal second segment other than vip: chat only');
  t.same(prefixes('chat.vip.>'), ['chat.vip.']);
  t.same(prefixes('chat.>'), ['chat.', 'chat.vip.']);
  t.same(prefixes('chat.vip'), ['chat.'], 'the topic chat.vip is in chat., not in chat.vip.');
  t.same(prefixes('*.room'), ['(top)', 'chat.', 'prices.'], 'two segments: not deep enough for chat.vip. or a.b.c.');
  t.same(prefixes('>'), ['(top)', 'a.b.c.', 'chat.', 'chat.vip.', 'prices.'], '`>` reaches everything');
  t.same(prefixes('a.*.c.d'), ['(top)', 'a.b.c.']);
  t.same(prefixes('a.*.c'), ['(top)'], 'no segment after a.b.c.: outside it');
  t.same(prefixes('news.>'), ['(top)']);
});

t.test('a file sets namespaces as a map, values in the top-level forms; errors name the namespace and key', async (t) => {
  const dir = t.testdir({
    'ok.yaml': 'namespaces:\n  chat.:\n    historyTtlMs: 10m\n    maxMessageBytes: 4KiB\n    recovery: off\n    subscribe: anonymous\n    publishRatePerSecond: 5\n',
    'typo.yaml': 'namespaces:\n  chat.:\n    historySize: 1\n    historySzie: 2\n',
    'access.yaml': 'namespaces:\n  chat.:\n    publish: everyone\n',
    'text.yaml': 'namespaces:\n  chat.:\n    historyTtlMs: soon\n',
    'prefix.yaml': 'namespaces:\n  chat:\n    historySize: 1\n',
    'wildcard.yaml': 'namespaces:\n  chat.*.:\n    historySize: 1\n',
    'size.yaml': 'maxMessageBytes: 64KiB\nnamespaces:\n  chat.:\n    maxMessageBytes: 1MiB\n',
  });
  const load = (name: string) => () => loadConfig({ env: {}, argv: ['--config', join(dir, name)] });
  const config = load('ok.yaml')() as ReturnType<typeof createConfig>;
  t.same(config.namespaces, { 'chat.': { historyTtlMs: 600_000, maxMessageBytes: 4096, recovery: false, subscribe: 'anonymous', publishRatePerSecond: 5 } });
  const at = (name: string, line: number) => `${join(dir, name)}:${line}`;
  configError(t, load('typo.yaml'), `${at('typo.yaml', 4)}: namespaces["chat."].historySzie`, /unknown key; did you mean historySize\?$/);
  configError(t, load('access.yaml'), `${at('access.yaml', 3)}: namespaces["chat."].publish`, /expected one of "anonymous"\|"authenticated"\|"nobody", got "everyone"$/);
  configError(t, load('text.yaml'), `${at('text.yaml', 3)}: namespaces["chat."].historyTtlMs`, /must be a duration such as 5000, 5000ms, 30s or 2m/);
  configError(t, load('prefix.yaml'), `${at('prefix.yaml', 2)}: namespaces.chat`, /a namespace is a topic prefix ending in "\."/);
  configError(t, load('wildcard.yaml'), `${at('wildcard.yaml', 2)}: namespaces["chat.*."]`, /a namespace is a topic prefix/);
  configError(t, load('size.yaml'), `${at('size.yaml', 2)}: namespaces`, /"chat\.": maxMessageBytes must be at most MAX_MESSAGE_BYTES \(65536\), got 1048576$/);
});

t.test('NAMESPACES and --namespaces take the map as JSON, and replace the file\'s', async (t) => {
  const dir = t.testdir({ 'file.yaml': 'namespaces:\n  chat.:\n    historySize: 1\n' });
  const fromEnv = loadConfig({ env: { NAMESPACES: '{"orders.": {"slowConsumerPolicy": "disconnect", "historyTtlMs": "1m"}}' }, argv: ['--config', join(dir, 'file.yaml')] });
  t.same(fromEnv.namespaces, { 'orders.': { slowConsumerPolicy: 'disconnect', historyTtlMs: 60_000 } });
  t.same(loadConfig({ env: {}, argv: ['--namespaces', '{"a.": {"recovery": false}}'] }).namespaces, { 'a.': { recovery: false } });
  configError(t, () => loadConfig({ env: { NAMESPACES: '{chat: 1}' } }), 'NAMESPACES (--namespaces)', /must be JSON, such as/);
  configError(t, () => loadConfig({ env: { NAMESPACES: '{"chat.": {"history": 1}}' } }), 'NAMESPACES (--namespaces)', /Unrecognized key/);
});

t.test('latest: inherited like every setting, and refused without history in the namespace that ends up with it', async (t) => {
  const namespaces = resolver({ historySize: 0, namespaces: { 'prices.': { latest: true, historySize: 1 }, 'prices.fx.': {}, 'chat.': { historySize: 5 } } });
  t.equal(namespaces.namespaceFor('prices.AAPL').latest, true);
  t.equal(namespaces.namespaceFor('prices.fx.EURUSD').latest, true, 'inherited from prices.');
  t.equal(namespaces.namespaceFor('chat.room').latest, false);
  t.equal(namespaces.topLevel.latest, false);
  t.same(loadConfig({ env: {}, argv: ['--namespaces', '{"a.": {"latest": "on"}}'] }).namespaces, { 'a.': { latest: true } }, 'text forms as recovery');
  const refused = /"prices\.": latest needs history to read the latest publication from: set historySize to at least 1 \(it is 0\)$/;
  configError(t, () => loadConfig({ env: { HISTORY_SIZE: '0', NAMESPACES: '{"prices.": {"latest": true}}' } }), 'NAMESPACES (--namespaces)', refused);
  configError(t, () => loadConfig({ env: { NAMESPACES: '{"prices.": {"latest": true, "historySize": 0}}' } }), 'NAMESPACES (--namespaces)', refused);
  const nested = /"prices\.fx\.": latest needs history/;
  configError(t, () => loadConfig({ env: { NAMESPACES: '{"prices.": {"latest": true}, "prices.fx.": {"historySize": 0}}' } }), 'NAMESPACES (--namespaces)', nested);
  t.ok(loadConfig({ env: { HISTORY_SIZE: '0', NAMESPACES: '{"prices.": {"latest": true, "historySize": 1}}' } }), 'history in the namespace is enough');
});

t.test('the message for a payload over a namespace\'s limit names the namespace', async (t) => {
  const namespaces = resolver({ namespaces: { 'chat.': { maxMessageBytes: 10 } } });
  t.equal(payloadTooBig(11, namespaces.namespaceFor('chat.x')), 'payload of 11 bytes exceeds maxMessageBytes 10 of namespace chat.');
  t.equal(payloadTooBig(11, namespaces.topLevel), `payload of 11 bytes exceeds maxMessageBytes ${namespaces.topLevel.maxMessageBytes}`);
});

t.test('docs/operations.md: the example file under "Namespaces" loads, and resolves as the rules there say', async (t) => {
  const doc = readFileSync(new URL('../../../../docs/operations.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('\n## Namespaces\n'));
  const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  t.ok(example, 'the section has a YAML example');
  const dir = t.testdir({ 'switchboard.yaml': example ?? '' });
  const config = loadConfig({ env: { JWT_SECRET: 'x'.repeat(32) }, argv: ['--config', join(dir, 'switchboard.yaml')] });
  t.equal(config.allowAnonymous, true);
  const namespaces = new NamespaceResolver(config);
  t.match(namespaces.namespaceFor('chat.room1'), { subscribe: 'authenticated', publish: 'authenticated', history: { size: 50, ttlMs: 600_000 }, maxMessageBytes: 4096 });
  t.match(namespaces.namespaceFor('chat.room1').publishRate, { perSecond: 5, burst: 10 });
  t.match(namespaces.namespaceFor('chat.announcements.today'), { prefix: 'chat.announcements.', subscribe: 'authenticated', publish: 'nobody', history: { size: 50 } });
  t.match(namespaces.namespaceFor('prices.AAPL'), { history: undefined, recovery: false, slowConsumerPolicy: 'conflate' });
  t.match(namespaces.namespaceFor('public.lobby'), { subscribe: 'anonymous', publish: 'nobody' });
  t.match(namespaces.namespaceFor('scores.final'), { latest: true, history: { size: 1 } });
  t.equal(namespaces.namespaceFor('prices.AAPL').latest, false);
  t.equal(namespaces.namespaceFor('news.today'), namespaces.topLevel);
});
