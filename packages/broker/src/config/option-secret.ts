/**
 * Options that hold credentials, and how their values may be shown. A record marks itself `secret`
 * (option.ts); whatever shows an option's value (configuration errors, `--help` defaults, the broker's logs
 * through pino `redact`) shows {@link shownValue} instead of the value, so a credential is never printed.
 * Pure.
 */

/**
 * - `whole`: the value is the credential (JWT_SECRET, ADMIN_TOKEN): never shown, not even in part, so an
 *   error names the option and the rule only.
 * - `url-password`: the value is a URL, or `host:port` addresses, whose password is a credential
 *   (`redis://user:password@host`, or `?password=`, which ioredis reads too): shown with the password masked,
 *   because the rest (scheme, host, port) is what an operator needs to see to fix it.
 */
export type SecretKind = 'whole' | 'url-password';

/** What a masked credential reads as. */
export const maskedText = '***';

/** A `whole` secret in a log line. */
export const redactedText = '[redacted]';

/**
 * `text` with its password masked: the user info before the last `@` (all of it, or after the user name when
 * there is a `:`) and any `password=` query value. The last `@`, not the one WHATWG URL parsing would pick,
 * so a text that is not a valid URL (a bad value) is masked too; it errs on masking too much.
 */
export function maskUrlPassword(text: string): string {
  const start = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0].length ?? 0;
  const at = text.lastIndexOf('@');
  let shown = text;
  if (at >= start) {
    const userinfo = text.slice(start, at);
    const colon = userinfo.indexOf(':');
    shown = `${text.slice(0, start)}${colon === -1 ? maskedText : `${userinfo.slice(0, colon)}:${maskedText}`}${text.slice(at)}`;
  }
  return shown.replace(/([?&]password=)[^&#]*/gi, `$1${maskedText}`);
}

/**
 * `value` as it may be shown: unchanged for an option that is not secret, with URL passwords masked (in a
 * string, or in each string of a list) for `url-password`, and `undefined` (not at all) for `whole`.
 */
export function shownValue(secret: SecretKind | undefined, value: unknown): unknown {
  if (secret === 'whole') return undefined;
  if (secret === undefined) return value;
  if (typeof value === 'string') return maskUrlPassword(value);
  return Array.isArray(value) ? value.map((item: unknown) => shownValue(secret, item)) : value;
}

/** `, got <value as JSON>` for an error message, or nothing when the value may not be shown. */
export function gotValue(secret: SecretKind | undefined, value: unknown): string {
  return secret === 'whole' ? '' : `, got ${JSON.stringify(shownValue(secret, value))}`;
}
