import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private PKI made by openssl for one test file, in a temporary directory removed at teardown: a CA, two
 * server certificates for 127.0.0.1 and localhost (the second one for a reload), a client certificate, and
 * a second CA with a client certificate of its own (one the first CA did not sign). openssl must be
 * installed (scripts/ensure-system-packages.sh): without it the test fails, it never skips.
 */

export interface TestCertificate {
  /** PEM file paths. */
  readonly certPath: string;
  readonly keyPath: string;
  /** PEM text. */
  readonly cert: string;
  readonly key: string;
  /** As `X509Certificate` and `getPeerCertificate()` show them (hex, colon-separated SHA-256). */
  readonly serial: string;
  readonly fingerprint256: string;
}

export interface TestPki {
  readonly dir: string;
  readonly ca: TestCertificate;
  readonly server: TestCertificate;
  /** Same names and CA as `server`, another key and serial. */
  readonly server2: TestCertificate;
  readonly client: TestCertificate;
  /** Signed by another CA (`otherCa`), so a broker trusting `ca` refuses it. */
  readonly strangerClient: TestCertificate;
  readonly otherCa: TestCertificate;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

const curve = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeTestPki(t: Teardown): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-pki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = selfSigned(dir, 'ca', 'Switchboard Test CA');
  const otherCa = selfSigned(dir, 'other-ca', 'Another Test CA');
  const serverNames = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
  const clientUse = 'extendedKeyUsage=clientAuth\n';
  return {
    dir,
    ca,
    otherCa,
    server: signed(dir, 'server', 'localhost', ca, 1001, serverNames),
    server2: signed(dir, 'server2', 'localhost', ca, 1002, serverNames),
    client: signed(dir, 'client', 'client-one', ca, 2001, clientUse),
    strangerClient: signed(dir, 'stranger', 'client-stranger', otherCa, 3001, clientUse),
  };
}

function selfSigned(dir: string, name: string, commonName: string): TestCertificate {
  const paths = pathsOf(dir, name);
  openssl(['req', '-x509', ...curve, '-days', '2', '-subj', `/CN=${commonName}`, '-keyout', paths.keyPath, '-out', paths.certPath]);
  return certificateAt(paths);
}

function signed(dir: string, name: string, commonName: string, issuer: TestCertificate, serial: number, extensions: string): TestCertificate {
  const paths = pathsOf(dir, name);
  const request = join(dir, `${name}.csr`);
  const extensionFile = join(dir, `${name}.ext`);
  writeFileSync(extensionFile, extensions);
  openssl(['req', ...curve, '-subj', `/CN=${commonName}`, '-keyout', paths.keyPath, '-out', request]);
  openssl([
    'x509', '-req', '-in', request, '-CA', issuer.certPath, '-CAkey', issuer.keyPath, '-set_serial', String(serial),
    '-days', '2', '-extfile', extensionFile, '-out', paths.certPath,
  ]);
  return certificateAt(paths);
}

function pathsOf(dir: string, name: string): { certPath: string; keyPath: string } {
  return { certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key`) };
}

function certificateAt(paths: { certPath: string; keyPath: string }): TestCertificate {
  const cert = readFileSync(paths.certPath, 'utf8');
  const parsed = new X509Certificate(cert);
  return { ...paths, cert, key: readFileSync(paths.keyPath, 'utf8'), serial: parsed.serialNumber, fingerprint256: parsed.fingerprint256 };
}

function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('openssl is not installed: the TLS tests need it (scripts/ensure-system-packages.sh installs it)');
    }
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr}`);
  }
}
