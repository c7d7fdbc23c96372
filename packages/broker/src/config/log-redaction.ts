import type { redactOptions } from 'pino';
import { type OptionKey, options } from './config.js';
import type { AnyOptionRecord } from './option.js';
import { redactedText, shownValue } from './option-secret.js';

/**
 * What the broker's pino logger never writes (pino `redact`, applied before a line is serialized): every
 * secret option wherever a configuration or a part of one is logged (`{ jwtSecret }` or `{ config }`), and
 * what a request carries as credentials (Authorization, Cookie, `bearer.<token>` subprotocol entries, an auth
 * request's `token`). Derived from the option records, so a new secret option is covered by marking it.
 * Nothing logs these today; this keeps a future log line from printing them. A logger passed in
 * `deps.logger` is configured by whoever passes it.
 */

const secretOptions = new Map(
  (Object.entries(options) as [OptionKey, AnyOptionRecord][]).flatMap(([key, record]) => (record.secret === undefined ? [] : [[key, record.secret] as const])),
);

const credentialHeaders = ['authorization', 'cookie', 'sec-websocket-protocol'];

/** Top level and one level down (pino wildcards match one level). */
const paths = [
  ...[...secretOptions.keys(), 'token'].flatMap((key) => [key, `*.${key}`]),
  ...credentialHeaders.flatMap((header) => [`headers["${header}"]`, `*.headers["${header}"]`]),
];

/** A secret option's value as its kind allows (a URL with its password masked); the rest in full. */
function censor(value: unknown, path: string[]): unknown {
  const field = path.at(-1) ?? '';
  const secret = secretOptions.get(field as OptionKey);
  if (secret !== undefined) return shownValue(secret, value) ?? redactedText;
  // Keep the subprotocol list readable: only its bearer entries are credentials.
  if (field === 'sec-websocket-protocol' && typeof value === 'string') return value.replace(/bearer\.[^,]*/g, `bearer.${redactedText}`);
  return redactedText;
}

export const logRedaction: redactOptions = { paths, censor };
