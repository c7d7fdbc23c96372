import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { configHelp } from '../../src/config/config-help.js';
import { createConfig } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load-config.js';

/**
 * TLS_CERT, TLS_KEY and TLS_CA as configuration: paths to files this process can read, the certificate and
 * the key together, the CA only with them. The configuration never opens the files (what they hold is
 * checked when the server loads them: tls-credentials.test.ts), so no error can show their contents.
 */

const dir = mkdtempSync(join(tmpdir(), 'switchboard-tls-options-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const certPath = join(dir, 'cert.pem');
const keyPath = join(dir, 'key.pem');
const caPath = join(dir, 'ca.pem');
// Not PEM at all: the configuration does not look inside.
for (const path of [certPath, keyPath, caPath]) writeFileSync(path, `contents of ${path} that no message may show`);

function configError(t: Test, run: () => unknown, field: string, message: RegExp): void {
  try {
    run();
    t.fail(`expected a ConfigError for ${field}`);
  } catch (error) {
    t.ok(error instanceof ConfigError, 'a ConfigError');
    t.equal((error as ConfigError).field, field);
    t.match((error as ConfigError).message, message);
    t.notMatch((error as ConfigError).message, /contents of/, 'no file contents');
  }
}

t.test('unset: plain ws:// (all three undefined)', async (t) => {
  const config = createConfig();
  t.same([config.tlsCert, config.tlsKey, config.tlsCa], [undefined, undefined, undefined]);
});

t.test('from the environment and from flags (a flag wins)', async (t) => {
  const fromEnv = loadConfig({ env: { TLS_CERT: certPath, TLS_KEY: keyPath, TLS_CA: caPath }, argv: [] });
  t.same([fromEnv.tlsCert, fromEnv.tlsKey, fromEnv.tlsCa], [certPath, keyPath, caPath]);
  const fromFlags = loadConfig({ env: { TLS_CERT: '/nowhere/cert.pem' }, argv: ['--tls-cert', certPath, `--tls-key=${keyPath}`] });
  t.same([fromFlags.tlsCert, fromFlags.tlsKey, fromFlags.tlsCa], [certPath, keyPath, undefined]);
});

t.test('a certificate and its key go together; the CA needs both', async (t) => {
  configError(t, () => createConfig({ tlsCert: certPath }), 'TLS_KEY (--tls-key)', /is needed with TLS_CERT/);
  configError(t, () => createConfig({ tlsKey: keyPath }), 'TLS_CERT (--tls-cert)', /is needed with TLS_KEY/);
  configError(t, () => createConfig({ tlsCa: caPath }), 'TLS_CA (--tls-ca)', /needs TLS_CERT and TLS_KEY/);
});

t.test('each path must be a readable regular file; the error names the option, the reason and the path', async (t) => {
  const missing = join(dir, 'missing.pem');
  configError(t, () => createConfig({ tlsCert: missing, tlsKey: keyPath }), 'TLS_CERT (--tls-cert)', /must be a readable file \(ENOENT\), got ".*missing\.pem"/);
  configError(t, () => loadConfig({ env: { TLS_CERT: certPath, TLS_KEY: dir } }), 'TLS_KEY (--tls-key)', /must be a readable file \(not a regular file\)/);
  configError(t, () => loadConfig({ env: {}, argv: ['--tls-cert', certPath, '--tls-key', keyPath, '--tls-ca', missing] }), 'TLS_CA (--tls-ca)', /ENOENT/);
  configError(t, () => createConfig({ tlsCert: '', tlsKey: keyPath }), 'TLS_CERT (--tls-cert)', /./);
});

t.test('--help lists the three with what they do', async (t) => {
  const help = configHelp();
  for (const line of ['--tls-cert / TLS_CERT', '--tls-key / TLS_KEY', '--tls-ca / TLS_CA']) t.match(help, line);
  t.match(help, /reloaded on SIGHUP/);
  t.match(help, /mutual TLS/);
});
