import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { createEngine } from '../../src/create-engine.js';
import { worstCaseEncodedBytes } from '../../src/config/config-checks.js';
import { ConfigError } from '../../src/config/config-error.js';
import { configHelp, configReference } from '../../src/config/config-help.js';
import { configDefaults, createConfig } from '../../src/config/config.js';
import { loadConfig, parseFlags } from '../../src/config/load-config.js';

/** Configuration: env and flags, defaults, and a clear error naming the field for every bad value. */

function configError(t: Test, run: () => unknown, field: string, message: RegExp): void {
  try {
    run();
    t.fail(`expected a ConfigError for ${field}`);
  } catch (error) {
    t.ok(error instanceof ConfigError, 'a ConfigError');
    t.equal((error as ConfigError).field, field);
    t.match((error as ConfigError).message, message);
  }
}

t.test('defaults: 127.0.0.1:8080, the documented limits, derived frame and transfer limits', async (t) => {
  const config = loadConfig({ env: {}, argv: [] });
  t.equal(config.host, '127.0.0.1');
  t.equal(config.port, 8080);
  t.equal(config.wsPath, '/');
  t.equal(config.redisUrl, undefined);
  t.equal(config.maxQueuedBytes, 1024 * 1024, 'per-connection queue cap 1 MiB');
  t.equal(config.maxFrameBytes, 65536 + 4 + 4096, 'a full chunk with the largest header');
  t.equal(config.maxIncompleteBytes, 2 * config.maxMessageBytes);
  t.equal(config.allowAnonymous, true, 'no JWT secret: anonymous development mode');
  t.equal(config.slowConsumerPolicy, 'drop-oldest');
  t.ok(config.nodeName.length > 0);
  for (const [key, value] of Object.entries(configDefaults)) t.same(config[key as keyof typeof config], value, `${key} default`);
});

t.test('environment, then flags, then overrides', async (t) => {
  const config = loadConfig({
    env: { PORT: '9000', HOST: '0.0.0.0', MAX_QUEUED_BYTES: '2MiB', CHUNK_TIMEOUT: '10s', PERMESSAGE_DEFLATE: 'true', ALLOWED_ORIGINS: 'https://a.example, https://*.b.example' },
    argv: ['--port', '9100', '--max-connections=5', '--no-permessage-deflate', '--slow-consumer-rules', 'prices.>=conflate,orders.>=disconnect'],
    overrides: { maxSubscriptions: 3 },
  });
  t.equal(config.port, 9100, 'the flag wins over the environment');
  t.equal(config.host, '0.0.0.0');
  t.equal(config.maxQueuedBytes, 2 * 1024 * 1024, 'sizes take KiB/MiB');
  t.equal(config.chunkTimeoutMs, 10_000, 'durations take s');
  t.equal(config.maxConnections, 5);
  t.equal(config.perMessageDeflate, false, '--no-flag negates');
  t.same(config.allowedOrigins, ['https://a.example', 'https://*.b.example']);
  t.same(config.slowConsumerRules, [
    { pattern: 'prices.>', policy: 'conflate' },
    { pattern: 'orders.>', policy: 'disconnect' },
  ]);
  t.equal(config.maxSubscriptions, 3);
  t.equal(loadConfig({ env: { JWT_SECRET: 'x'.repeat(32) } }).allowAnonymous, false, 'a JWT secret makes tokens required');
  t.same(parseFlags(['--permessage-deflate', 'false', '--port', '1']), { perMessageDeflate: false, port: 1 });
});

t.test('a bad value stops startup with a message naming the field', async (t) => {
  configError(t, () => loadConfig({ env: { PORT: 'http' } }), 'PORT (--port)', /must be an integer/);
  configError(t, () => loadConfig({ argv: ['--port', '70000'] }), 'PORT (--port)', /from 0 to 65535/);
  configError(t, () => loadConfig({ env: { MAX_QUEUED_BYTES: 'lots' } }), 'MAX_QUEUED_BYTES (--max-queued-bytes)', /byte count/);
  configError(t, () => loadConfig({ env: { MAX_QUEUED_BYTES: '10' } }), 'MAX_QUEUED_BYTES (--max-queued-bytes)', /must hold the largest message/);
  configError(t, () => loadConfig({ env: { CHUNK_TIMEOUT: 'soon' } }), 'CHUNK_TIMEOUT (--chunk-timeout)', /duration/);
  configError(t, () => loadConfig({ env: { PERMESSAGE_DEFLATE: 'maybe' } }), 'PERMESSAGE_DEFLATE (--permessage-deflate)', /true or false/);
  configError(t, () => loadConfig({ env: { LOG_LEVEL: 'loud' } }), 'LOG_LEVEL (--log-level)', /loud/);
  configError(t, () => loadConfig({ env: { JWT_SECRET: 'short' } }), 'JWT_SECRET (--jwt-secret)', /at least 32 bytes/);
  configError(t, () => loadConfig({ env: { JWT_ISSUER: 'me' } }), 'JWT_ISSUER (--jwt-issuer)', /needs JWT_SECRET/);
  configError(t, () => loadConfig({ env: { SLOW_CONSUMER_RULES: 'a..b=conflate' } }), 'SLOW_CONSUMER_RULES (--slow-consumer-rules)', /segment 2 is empty/);
  configError(t, () => loadConfig({ env: { SLOW_CONSUMER_RULES: 'a.b=drop' } }), 'SLOW_CONSUMER_RULES (--slow-consumer-rules)', /drop/);
  configError(t, () => loadConfig({ env: { SLOW_CONSUMER_RULES: 'nonsense' } }), 'SLOW_CONSUMER_RULES (--slow-consumer-rules)', /pattern=policy/);
  configError(t, () => loadConfig({ env: { ANONYMOUS_PUBLISH: 'a.*b' } }), 'ANONYMOUS_PUBLISH (--anonymous-publish)', /wildcard/);
  configError(t, () => loadConfig({ env: { ALLOWED_ORIGINS: 'app.example' } }), 'ALLOWED_ORIGINS (--allowed-origins)', /origin/);
  configError(t, () => loadConfig({ env: { REDIS_URL: 'localhost:6379' } }), 'REDIS_URL (--redis-url)', /redis:\/\//);
  configError(t, () => loadConfig({ env: { HIGH_WATER_MARK: '1KiB' } }), 'HIGH_WATER_MARK (--high-water-mark)', /16384/);
  configError(t, () => loadConfig({ argv: ['--prot', '1'] }), '--prot', /unknown flag/);
  configError(t, () => loadConfig({ argv: ['--port'] }), 'PORT (--port)', /needs a value/);
  configError(t, () => loadConfig({ argv: ['8080'] }), '8080', /unexpected argument/);
  configError(t, () => createConfig({ chunkBytes: 1024 * 1024 }), 'MAX_MESSAGE_BYTES (--max-message-bytes)', /at least CHUNK_BYTES/);
  configError(t, () => createConfig({ maxFrameBytes: 65536 }), 'MAX_FRAME_BYTES (--max-frame-bytes)', /fit a full chunk/);
  configError(t, () => createConfig({ maxIncompleteBytes: 1000 }), 'MAX_INCOMPLETE_BYTES (--max-incomplete-bytes)', /at least MAX_MESSAGE_BYTES/);
});

t.test('REDIS_URL selects the Redis engine, REDIS_CLUSTER_NODES its cluster mode, REDIS_SENTINELS its Sentinel mode, none the in-memory one', async (t) => {
  const config = loadConfig({ env: { REDIS_URL: 'redis://127.0.0.1:6379' } });
  t.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  t.equal(createEngine(config).constructor.name, 'RedisEngine', 'constructed, not started: no connection yet');
  const cluster = loadConfig({ argv: ['--redis-cluster-nodes', 'redis-1:7000, 10.0.0.2:7001'] });
  t.same(cluster.redisClusterNodes, ['redis-1:7000', '10.0.0.2:7001']);
  t.equal(createEngine(cluster).constructor.name, 'RedisEngine');
  t.equal(createEngine(createConfig()).constructor.name, 'MemoryEngine', 'unset: the in-memory engine');
  configError(t, () => loadConfig({ env: { REDIS_CLUSTER_NODES: 'redis-1' } }), 'REDIS_CLUSTER_NODES (--redis-cluster-nodes)', /host:port/);
  configError(
    t,
    () => loadConfig({ env: { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: 'redis-1:7000' } }),
    'REDIS_CLUSTER_NODES (--redis-cluster-nodes)',
    /one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS/,
  );
  const sentinel = loadConfig({ env: { REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_MASTER: 'orders' } });
  t.same([sentinel.redisSentinels, sentinel.redisSentinelMaster], [['s1:26379', 's2:26379'], 'orders']);
  t.equal(createEngine(sentinel).constructor.name, 'RedisEngine');
  t.equal(createConfig().redisSentinelMaster, 'mymaster');
  configError(
    t,
    () => loadConfig({ env: { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_SENTINELS: 's1:26379' } }),
    'REDIS_SENTINELS (--redis-sentinels)',
    /one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS/,
  );
});

t.test('--help names every flag with its variable, and the worst-case queue size bound', async (t) => {
  const help = configHelp();
  t.match(help, /--port \/ PORT/);
  t.match(help, /--slow-consumer-rules \/ SLOW_CONSUMER_RULES/);
  t.match(help, /\[1048576\]/, 'defaults are shown');
  t.equal(worstCaseEncodedBytes(100, 65536), 100 + 14 + 4 + 1024);
  t.equal(worstCaseEncodedBytes(131072, 65536), 131072 + 2 * (14 + 4 + 1024));
});

t.test('docs/operations.md documents every option with its flag and default', async (t) => {
  const doc = readFileSync(new URL('../../../../docs/operations.md', import.meta.url), 'utf8');
  for (const { env, flag, fallback } of configReference()) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${env}\` | \`${flag}\` |`));
    t.ok(row, `${env} has a row`);
    if (fallback !== undefined && fallback !== '') t.match(row, `\`${fallback}\``, `${env} default ${fallback}`);
  }
});
