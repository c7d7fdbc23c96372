import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../src/config/config-error.js';
import { certificateSummary, loadTlsCredentials, tlsFilesOf } from '../src/tls-credentials.js';
import { type TestCertificate, makeTestPki } from './helpers/test-certificates.js';

/**
 * The checks a certificate, key and CA pass before the broker serves them, at startup and on SIGHUP. Every
 * refusal names the option and the path, and never shows what a file holds.
 */

const pki = makeTestPki(t);
const files = (cert: TestCertificate, keyPath = cert.keyPath, ca?: string) => ({ cert: cert.certPath, key: keyPath, ca });

/** A file in the test's directory with `text`. */
function fileWith(name: string, text: string | Buffer): string {
  const path = join(pki.dir, name);
  writeFileSync(path, text);
  return path;
}

/** The refusal `load` throws: a ConfigError naming `field`, showing no line of any PEM body. */
function refusal(t: Test, load: () => unknown, field: string, message: RegExp): void {
  try {
    load();
    t.fail(`${field}: expected a refusal`);
  } catch (error) {
    t.type(error, ConfigError);
    t.equal((error as ConfigError).field, field);
    t.match((error as Error).message, message);
    const bodies = [pki.server, pki.server2, pki.ca].flatMap((pem) => [pem.cert, pem.key]).flatMap((text) => text.split('\n').filter((line) => /^[A-Za-z0-9+/=]{40,}$/.test(line)));
    t.notOk(bodies.some((line) => (error as Error).message.includes(line)), 'no file contents in the message');
    t.notMatch((error as Error).message, /PRIVATE KEY|-----END/, 'no PEM block in the message');
  }
}

t.test('tlsFilesOf: TLS is on only with a certificate and a key', async (t) => {
  t.equal(tlsFilesOf({ tlsCert: undefined, tlsKey: undefined, tlsCa: undefined }), undefined);
  t.same(tlsFilesOf({ tlsCert: '/c', tlsKey: '/k', tlsCa: undefined }), { cert: '/c', key: '/k', ca: undefined });
  t.same(tlsFilesOf({ tlsCert: '/c', tlsKey: '/k', tlsCa: '/a' }), { cert: '/c', key: '/k', ca: '/a' });
});

t.test('a certificate, its key and a CA load; the summary names the certificate served', async (t) => {
  const credentials = loadTlsCredentials(files(pki.server, pki.server.keyPath, pki.ca.certPath));
  t.equal(credentials.certificate.serialNumber, pki.server.serial);
  t.match(String(credentials.secureContext.cert), /^-----BEGIN CERTIFICATE-----/);
  t.match(String(credentials.secureContext.ca), /^-----BEGIN CERTIFICATE-----/);
  t.same(certificateSummary(credentials.certificate), {
    subject: 'CN=localhost',
    issuer: 'CN=Switchboard Test CA',
    serial: pki.server.serial,
    fingerprint256: pki.server.fingerprint256,
    validTo: credentials.certificate.validTo,
  });
});

t.test('a chain file (leaf, then the CA) serves the whole chain, the leaf first', async (t) => {
  const chainPath = fileWith('chain.pem', `# renewed by the test\n${pki.server.cert}${pki.ca.cert}`);
  const credentials = loadTlsCredentials({ cert: chainPath, key: pki.server.keyPath, ca: undefined });
  t.equal(credentials.certificate.serialNumber, pki.server.serial);
  t.equal(String(credentials.secureContext.cert), `${pki.server.cert}${pki.ca.cert}`, 'the certificates alone, in order');
});

t.test('refused: a key that belongs to another certificate', async (t) => {
  refusal(t, () => loadTlsCredentials(files(pki.server, pki.server2.keyPath)), 'TLS_KEY (--tls-key)', /server2\.key is not the key of the certificate in .*server\.pem \(serial 03E9\)/);
});

t.test('refused: a certificate file that is not PEM (empty, a key, garbage)', async (t) => {
  for (const [name, text] of [['empty.pem', ''], ['garbage.pem', 'hello, not a certificate\n'], ['a-key.pem', pki.server.key]] as const) {
    refusal(t, () => loadTlsCredentials({ cert: fileWith(name, text), key: pki.server.keyPath, ca: undefined }), 'TLS_CERT (--tls-cert)', /holds no PEM certificate/);
  }
  const truncated = pki.server.cert.replace(/\n[A-Za-z0-9+/=]+\n-----END/, '\n-----END');
  refusal(t, () => loadTlsCredentials({ cert: fileWith('truncated.pem', truncated), key: pki.server.keyPath, ca: undefined }), 'TLS_CERT (--tls-cert)', /certificate 1 of 1 does not parse \(ERR_/);
});

t.test('refused: a key file that is not a private key, or is encrypted', async (t) => {
  refusal(t, () => loadTlsCredentials(files(pki.server, pki.server.certPath)), 'TLS_KEY (--tls-key)', /server\.pem is not a PEM private key \(ERR_/);
  refusal(t, () => loadTlsCredentials(files(pki.server, fileWith('garbage.key', 'not a key'))), 'TLS_KEY (--tls-key)', /is not a PEM private key/);
  const encrypted = join(pki.dir, 'encrypted.key');
  execFileSync('openssl', ['pkey', '-in', pki.server.keyPath, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
  refusal(t, () => loadTlsCredentials(files(pki.server, encrypted)), 'TLS_KEY (--tls-key)', /encrypted\.key is encrypted: give the broker an unencrypted key/);
});

t.test('refused: a CA file without a certificate', async (t) => {
  refusal(t, () => loadTlsCredentials(files(pki.server, pki.server.keyPath, fileWith('ca-garbage.pem', 'nope'))), 'TLS_CA (--tls-ca)', /ca-garbage\.pem holds no PEM certificate/);
});

t.test('refused: a certificate outside its validity', async (t) => {
  const { validFrom, validTo } = loadTlsCredentials(files(pki.server)).certificate;
  const later = new Date(Date.parse(validTo) + 1000);
  refusal(t, () => loadTlsCredentials(files(pki.server), later), 'TLS_CERT (--tls-cert)', /the certificate \(serial 03E9\) expired on /);
  const earlier = new Date(Date.parse(validFrom) - 60_000);
  refusal(t, () => loadTlsCredentials(files(pki.server), earlier), 'TLS_CERT (--tls-cert)', /is not valid before /);
});

t.test('refused: a file that cannot be read (gone since the configuration was checked)', async (t) => {
  refusal(t, () => loadTlsCredentials(files(pki.server, join(pki.dir, 'missing.key'))), 'TLS_KEY (--tls-key)', /cannot read .*missing\.key \(ENOENT\)/);
  const directory = join(pki.dir, 'a-directory');
  mkdirSync(directory);
  refusal(t, () => loadTlsCredentials({ cert: directory, key: pki.server.keyPath, ca: undefined }), 'TLS_CERT (--tls-cert)', /cannot read .*a-directory \(EISDIR\)/);
});
