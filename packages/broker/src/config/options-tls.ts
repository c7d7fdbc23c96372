import { accessSync, constants, statSync } from 'node:fs';
import { z } from 'zod';
import { option } from './option.js';

/**
 * TLS served by the broker itself (`wss://` and `https://`), instead of by a proxy in front. The options are
 * paths; the files are read at startup and again on SIGHUP (tls-credentials.ts), so a renewed certificate
 * is picked up without a restart. Here a path is only checked to be a readable file: its contents are
 * never part of an error. TLS_CERT and TLS_KEY go together, and TLS_CA needs them (config-checks.ts).
 */

/** A path to a regular file this process can read; the message names the reason, never the contents. */
const readableFile = z
  .string()
  .min(1)
  .superRefine((path, context) => {
    const problem = unreadable(path);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: `must be a readable file (${problem})` });
  });

/** Why `path` cannot be read, or undefined when it can. */
function unreadable(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'not a regular file';
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'unreadable';
  }
}

export const tlsOptions = {
  tlsCert: option({
    env: 'TLS_CERT',
    flag: 'tls-cert',
    kind: 'string',
    schema: readableFile,
    /** Plain ws:// unless asked: most deployments terminate TLS in a load balancer or proxy. */
    optional: true,
    help: 'PEM certificate chain (leaf first) to serve wss:// and https:// directly; with TLS_KEY; reloaded on SIGHUP',
  }),
  tlsKey: option({
    env: 'TLS_KEY',
    flag: 'tls-key',
    kind: 'string',
    schema: readableFile,
    optional: true,
    help: "PEM private key of TLS_CERT (unencrypted; keep the file readable by the broker's user only); reloaded on SIGHUP",
  }),
  tlsCa: option({
    env: 'TLS_CA',
    flag: 'tls-ca',
    kind: 'string',
    schema: readableFile,
    /** Clients are authenticated by token, not certificate, unless the operator wants mutual TLS. */
    optional: true,
    help: 'PEM CA certificates; set: every client must present a certificate they signed (mutual TLS); reloaded on SIGHUP',
  }),
};
