import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The `Switchboard-Signature` header (docs/operations.md "Verifying a webhook"), after Stripe's: `t=<unix
 * seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The timestamp is signed with the body, so a captured
 * request replayed later fails the receiver's age check; it is set anew on every attempt.
 */

export const signatureHeader = 'switchboard-signature';

/** The hex HMAC-SHA256 of `${timestamp}.${body}` under `secret`. */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The header value for `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, body)}`;
}

export interface WebhookVerification {
  /** The header as received. */
  readonly header: string | undefined;
  /** The raw body as received (before any JSON parsing: a re-serialized body would not match). */
  readonly body: string;
  readonly secret: string;
  /** Oldest accepted signature, in seconds. @default 300 */
  readonly toleranceSeconds?: number;
  /** Unix seconds now. @default the wall clock */
  readonly now?: number;
}

/**
 * Whether a webhook request is genuine and recent: its signature matches and its timestamp is within
 * `toleranceSeconds` of now (either way, for clock skew). For backends written in TypeScript; the recipe in
 * docs/operations.md is the same in any language.
 */
export function verifyWebhook(request: WebhookVerification): boolean {
  const { header, body, secret, toleranceSeconds = 300 } = request;
  if (header === undefined) return false;
  const fields = new Map<string, string[]>();
  for (const part of header.split(',')) {
    const equals = part.indexOf('=');
    if (equals <= 0) continue;
    const name = part.slice(0, equals).trim();
    fields.set(name, [...(fields.get(name) ?? []), part.slice(equals + 1).trim()]);
  }
  const timestamp = Number(fields.get('t')?.[0]);
  if (!Number.isSafeInteger(timestamp)) return false;
  const now = request.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signatureOf(secret, timestamp, body), 'hex');
  return (fields.get('v1') ?? []).some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
