/**
 * Development tokens for the example: HS256 JWTs signed with the broker's `JWT_SECRET`, as `switchboard token`
 * mints them, plus `info` (shown to the room by presence). node:crypto only; a real application mints tokens
 * in its backend, after its own sign-in.
 */
import { createHmac } from 'node:crypto';

/** What the example's users may do: chat and type in any room, read the figures, alerts and files, share files. */
const GRANTS = {
  publish: ['chat.>', 'typing.>', 'files.>'],
  subscribe: ['chat.>', 'typing.>', 'metrics.>', 'alerts.>', 'files.>'],
};

/** A user name the page may ask for: one short word (it becomes the token's `sub`). */
export const USER_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** Signs a token for `user` valid for `ttlSeconds`; `grants` default to the example page's. */
export function devToken(secret: string, user: string, options: { ttlSeconds?: number; grants?: { publish: string[]; subscribe: string[] } } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: user, info: { name: user }, ...(options.grants ?? GRANTS), iat: now, exp: now + (options.ttlSeconds ?? 3600) };
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** The secret from the environment, as the broker reads it; the example needs one (presence lists users). */
export function secretFromEnv(): string {
  const secret = process.env['JWT_SECRET'];
  if (secret === undefined || secret.length < 32) {
    throw new Error('set JWT_SECRET (at least 32 bytes) to the broker\'s secret: the example signs its development tokens with it');
  }
  return secret;
}
