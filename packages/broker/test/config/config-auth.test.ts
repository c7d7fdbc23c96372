import t, { type Test } from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { configHelp } from '../../src/config/config-help.js';
import { loadConfig } from '../../src/config/load-config.js';

/** The token options from env and flags, and the rules between them, each failure naming the option. */

const secret32 = 'a-secret-of-exactly-32-bytes-123';
const jwks = 'https://id.example/.well-known/jwks.json';

function refused(t: Test, env: Record<string, string>, field: string, rule: RegExp): void {
  try {
    loadConfig({ env });
    t.fail(`${JSON.stringify(env)}: accepted`);
  } catch (error) {
    t.ok(error instanceof ConfigError, 'a ConfigError');
    t.equal((error as ConfigError).field, field, JSON.stringify(env));
    t.match((error as ConfigError).message, rule);
  }
}

t.test('the key sources, the algorithms and the JWKS timings are read from env and flags', async (t) => {
  const config = loadConfig({
    env: { JWKS_URL: jwks, JWT_ALGORITHMS: 'RS256, ES256' },
    argv: ['--jwks-refresh-interval', '10s', '--jwks-max-age=5m', '--jwks-timeout', '2s'],
  });
  t.equal(config.jwksUrl, jwks);
  t.same(config.jwtAlgorithms, ['RS256', 'ES256']);
  t.same([config.jwksRefreshIntervalMs, config.jwksMaxAgeMs, config.jwksTimeoutMs], [10_000, 300_000, 2000]);
  const defaults = loadConfig({ env: {} });
  t.same([defaults.jwksRefreshIntervalMs, defaults.jwksMaxAgeMs, defaults.jwksTimeoutMs], [30_000, 600_000, 5000], 'jose\'s own defaults');
  t.equal(defaults.jwtAlgorithms, undefined, 'unset: from the keys');
  t.equal(loadConfig({ env: { JWT_PUBLIC_KEY: '/etc/switchboard/issuer.pem' } }).jwtPublicKey, '/etc/switchboard/issuer.pem', 'a path is kept as given, read at startup');
});

t.test('any key source makes tokens required by default', async (t) => {
  t.equal(loadConfig({ env: {} }).allowAnonymous, true, 'no key: development');
  t.equal(loadConfig({ env: { JWT_SECRET: secret32 } }).allowAnonymous, false);
  t.equal(loadConfig({ env: { JWT_PUBLIC_KEY: '/k.pem' } }).allowAnonymous, false);
  t.equal(loadConfig({ env: { JWKS_URL: jwks } }).allowAnonymous, false);
  t.equal(loadConfig({ env: { JWKS_URL: jwks, ALLOW_ANONYMOUS: 'true' } }).allowAnonymous, true, 'unless allowed');
});

t.test('JWKS_URL: https, or http to a loopback host; no user info (and a password is never quoted)', async (t) => {
  for (const url of ['http://127.0.0.1:8081/jwks.json', 'http://localhost/jwks', 'http://[::1]:9000/keys', jwks]) {
    t.equal(loadConfig({ env: { JWKS_URL: url } }).jwksUrl, url, url);
  }
  refused(t, { JWKS_URL: 'http://id.example/jwks.json' }, 'JWKS_URL (--jwks-url)', /must be an https:\/\/ URL \(http:\/\/ only to 127\.0\.0\.1, \[::1\] or localhost\)/);
  refused(t, { JWKS_URL: 'id.example/jwks.json' }, 'JWKS_URL (--jwks-url)', /must be an https:\/\/ URL/);
  refused(t, { JWKS_URL: 'https://app:hunter2@id.example/jwks' }, 'JWKS_URL (--jwks-url)', /must not carry a user name or password \(a key set is public\), got "https:\/\/app:\*\*\*@id\.example\/jwks"$/);
});

t.test('JWT_ALGORITHMS: only the algorithms the broker verifies, none of them `none`', async (t) => {
  refused(t, { JWT_SECRET: secret32, JWT_ALGORITHMS: 'none' }, 'JWT_ALGORITHMS (--jwt-algorithms)', /must list algorithms from HS256, HS384, HS512, RS256, PS256, ES256, ES384, EdDSA/);
  refused(t, { JWT_SECRET: secret32, JWT_ALGORITHMS: 'HS256,RS512' }, 'JWT_ALGORITHMS (--jwt-algorithms)', /must list algorithms from/);
  refused(t, { JWT_SECRET: secret32, JWT_ALGORITHMS: ',' }, 'JWT_ALGORITHMS (--jwt-algorithms)', /must name an algorithm/);
});

t.test('the rules between the token options', async (t) => {
  refused(t, { JWT_ISSUER: 'https://id.example' }, 'JWT_ISSUER (--jwt-issuer)', /needs JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL/);
  refused(t, { JWT_AUDIENCE: 'switchboard' }, 'JWT_AUDIENCE (--jwt-audience)', /needs JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL/);
  refused(t, { JWT_ALGORITHMS: 'HS256' }, 'JWT_ALGORITHMS (--jwt-algorithms)', /needs JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL/);
  refused(t, { JWT_PUBLIC_KEY: '/k.pem', JWKS_URL: jwks }, 'JWKS_URL (--jwks-url)', /set one of JWT_PUBLIC_KEY and JWKS_URL/);
  refused(t, { JWKS_URL: jwks, JWT_ALGORITHMS: 'RS256,HS256' }, 'JWT_ALGORITHMS (--jwt-algorithms)', /HS256 needs JWT_SECRET/);
  refused(t, { JWT_SECRET: secret32, JWT_ALGORITHMS: 'ES256' }, 'JWT_ALGORITHMS (--jwt-algorithms)', /ES256 needs JWT_PUBLIC_KEY or JWKS_URL/);
  refused(t, { JWT_SECRET: secret32, JWT_ALGORITHMS: 'HS384' }, 'JWT_SECRET (--jwt-secret)', /must be at least 48 bytes for HS384 \(RFC 7518 §3\.2\)$/);
  refused(t, { JWT_SECRET: secret32.repeat(2).slice(0, 63), JWT_ALGORITHMS: 'HS256,HS512' }, 'JWT_SECRET (--jwt-secret)', /must be at least 64 bytes for HS512/);
  refused(t, { JWT_SECRET: secret32, JWKS_URL: jwks, JWT_ALGORITHMS: 'RS256' }, 'JWT_ALGORITHMS (--jwt-algorithms)', /names no algorithm for JWT_SECRET/);
  refused(t, { JWT_SECRET: secret32, JWKS_URL: jwks, JWT_ALGORITHMS: 'HS256' }, 'JWT_ALGORITHMS (--jwt-algorithms)', /names no algorithm for JWT_PUBLIC_KEY or JWKS_URL/);
  t.same(loadConfig({ env: { JWT_SECRET: secret32, JWKS_URL: jwks } }).jwtAlgorithms, undefined, 'a secret and a JWKS together: HS256 and the JWKS\'s, from the keys');
  t.same(loadConfig({ env: { JWT_SECRET: secret32.repeat(2), JWT_ALGORITHMS: 'HS512' } }).jwtAlgorithms, ['HS512']);
});

t.test('--help names every key source and the algorithms, with the JWKS defaults', async (t) => {
  const help = configHelp();
  for (const flag of ['--jwt-public-key / JWT_PUBLIC_KEY', '--jwks-url / JWKS_URL', '--jwt-algorithms / JWT_ALGORITHMS', '--jwks-refresh-interval / JWKS_REFRESH_INTERVAL']) {
    t.ok(help.includes(flag), flag);
  }
  t.match(help, /least time between two JWKS fetches.*\[30000\]/);
  t.match(help, /fetched again in the background.*\[600000\]/);
});
