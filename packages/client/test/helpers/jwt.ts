import { createHmac } from 'node:crypto';

/** A shared HS256 secret for tests (the broker wants at least 32 bytes). */
export const TEST_JWT_SECRET = 'switchboard-client-tests-secret-0123456789';

/** Signs an HS256 JWT (RFC 7519) with `claims`; `exp` is in seconds since the epoch, as the RFC says. */
export function signTestJwt(claims: Record<string, unknown>, secret = TEST_JWT_SECRET): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
