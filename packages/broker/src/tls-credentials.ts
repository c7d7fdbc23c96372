import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type SecureContextOptions, createSecureContext } from 'node:tls';
import { type Config, type OptionKey, describeOption } from './config/config.js';
import { ConfigError } from './config/config-error.js';

/**
 * The certificate, key and CA the broker serves TLS with, read from the files TLS_CERT, TLS_KEY and TLS_CA
 * name: at startup (a bad file stops it, exit code 2) and on SIGHUP (a bad file is refused and the running
 * certificate stays). Every check happens before anything is served, so a half-written renewal, a key from
 * another certificate or an expired certificate never reaches a client. Errors name the option and the
 * path, never a file's contents: the key file is a credential.
 */

/** Where the credentials are: the three options' paths, TLS on. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  /** Set: clients must present a certificate one of these CAs signed. */
  readonly ca: string | undefined;
}

/** Credentials that passed every check. */
export interface TlsCredentials {
  /** What `https.createServer` and `tls.Server.setSecureContext` take. */
  readonly secureContext: Pick<SecureContextOptions, 'cert' | 'key' | 'ca'>;
  /** The leaf certificate (the first of TLS_CERT): what clients are shown. */
  readonly certificate: X509Certificate;
}

/** The TLS files of `config`, or undefined when the broker serves plain ws:// and http:// (config-checks.ts pairs them). */
export function tlsFilesOf(config: Pick<Config, 'tlsCert' | 'tlsKey' | 'tlsCa'>): TlsFiles | undefined {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  return { cert: config.tlsCert, key: config.tlsKey, ca: config.tlsCa };
}

/**
 * Reads and checks the files: each certificate parses, the leaf is within its validity at `now`, the key is
 * an unencrypted private key that belongs to the leaf, and OpenSSL accepts the set.
 * @throws ConfigError naming the option (TLS_CERT, TLS_KEY or TLS_CA) and the path.
 */
export function loadTlsCredentials(files: TlsFiles, now: Date = new Date()): TlsCredentials {
  const chain = certificates('tlsCert', files.cert);
  const certificate = chain[0] as X509Certificate;
  if (Date.parse(certificate.validTo) <= now.getTime()) {
    throw refusal('tlsCert', `${files.cert}: the certificate (serial ${certificate.serialNumber}) expired on ${certificate.validTo}`);
  }
  if (Date.parse(certificate.validFrom) > now.getTime()) {
    throw refusal('tlsCert', `${files.cert}: the certificate (serial ${certificate.serialNumber}) is not valid before ${certificate.validFrom}`);
  }
  const keyText = read('tlsKey', files.key);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyText.toString('latin1'))) {
    throw refusal('tlsKey', `${files.key} is encrypted: give the broker an unencrypted key, readable by its user only`);
  }
  if (!certificate.checkPrivateKey(privateKeyOf(files.key, keyText))) {
    throw refusal('tlsKey', `${files.key} is not the key of the certificate in ${files.cert} (serial ${certificate.serialNumber})`);
  }
  const secureContext = {
    cert: pem(chain),
    key: keyText,
    ...(files.ca === undefined ? {} : { ca: pem(certificates('tlsCa', files.ca)) }),
  };
  try {
    createSecureContext(secureContext);
  } catch (error) {
    throw refusal('tlsCert', `OpenSSL refuses ${files.cert} with ${files.key} (${codeOf(error)})`);
  }
  return { secureContext, certificate };
}

/** What a log line says about a certificate: enough to tell which one is served, nothing secret. */
export function certificateSummary(certificate: X509Certificate): Record<string, string> {
  return {
    subject: certificate.subject.replaceAll('\n', ', '),
    issuer: certificate.issuer.replaceAll('\n', ', '),
    serial: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
    validTo: certificate.validTo,
  };
}

/** Every `CERTIFICATE` block of a PEM file, parsed; at least one. */
function certificates(key: OptionKey, path: string): X509Certificate[] {
  const blocks = read(key, path).toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw refusal(key, `${path} holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)`);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw refusal(key, `${path}: certificate ${index + 1} of ${blocks.length} does not parse (${codeOf(error)})`);
    }
  });
}

function privateKeyOf(path: string, text: Buffer): KeyObject {
  try {
    return createPrivateKey(text);
  } catch (error) {
    throw refusal('tlsKey', `${path} is not a PEM private key (${codeOf(error)})`);
  }
}

/** The certificates as one PEM text, without whatever else the file held around them. */
function pem(chain: readonly X509Certificate[]): string {
  return chain.map((certificate) => certificate.toString()).join('');
}

function read(key: OptionKey, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw refusal(key, `cannot read ${path} (${codeOf(error)})`);
  }
}

function refusal(key: OptionKey, message: string): ConfigError {
  return new ConfigError(describeOption(key), message);
}

/** An error's stable code (an errno or OpenSSL code): never its message, which might quote input. */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'unknown error';
}
