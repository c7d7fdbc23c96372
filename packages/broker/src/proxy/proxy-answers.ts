import { ProtocolErrorCode, isValidPattern } from '@switchboard/protocol';
import { z } from 'zod';

/**
 * The backend's answers (protocol.md "Backend proxy"), checked before the broker acts on them: an answer
 * that fits none of a kind's shapes is `invalid` (the request fails with `unavailable`, and counts towards
 * the circuit), never a silent allow.
 */

/** Codes a backend may refuse a subscribe, publish or rpc with; any other is sent as `forbidden`. */
export const REQUEST_REFUSAL_CODES = [
  ProtocolErrorCode.forbidden,
  ProtocolErrorCode.badRequest,
  ProtocolErrorCode.invalidTopic,
  ProtocolErrorCode.rateLimited,
  ProtocolErrorCode.messageTooBig,
  ProtocolErrorCode.unavailable,
] as const;

/** Codes a backend may refuse a connection with; any other is read as `forbidden`. */
export const CONNECT_REFUSAL_CODES = [ProtocolErrorCode.invalidToken, ProtocolErrorCode.tokenExpired, ProtocolErrorCode.forbidden, ProtocolErrorCode.unavailable] as const;

const refusalSchema = z.strictObject({ refuse: z.strictObject({ code: z.string().optional(), reason: z.string().max(1000).optional() }) });

export type Refusal<Code extends string> = { readonly code: Code; readonly reason: string };

function refusal<Code extends string>(answer: z.output<typeof refusalSchema>, codes: readonly Code[]): Refusal<Code> {
  const code = codes.find((known) => known === answer.refuse.code) ?? (ProtocolErrorCode.forbidden as Code);
  return { code, reason: answer.refuse.reason ?? 'refused by the backend' };
}

const patternList = z.array(z.string().refine(isValidPattern, 'must be a topic pattern')).max(10_000);

const connectSchema = z.strictObject({
  user: z.string().max(1024).optional(),
  info: z.unknown().optional(),
  grants: z.strictObject({ publish: patternList.optional(), subscribe: patternList.optional() }).optional(),
  subscriptions: patternList.optional(),
  expiresAt: z.number().int().positive().optional(),
});

export type ConnectAnswer =
  | { readonly ok: true; readonly answer: z.output<typeof connectSchema> }
  | { readonly ok: false; readonly refusal: Refusal<(typeof CONNECT_REFUSAL_CODES)[number]> };

export function readConnectAnswer(answer: unknown): ConnectAnswer | undefined {
  const refused = refusalSchema.safeParse(answer);
  if (refused.success) return { ok: false, refusal: refusal(refused.data, CONNECT_REFUSAL_CODES) };
  const accepted = connectSchema.safeParse(answer);
  return accepted.success ? { ok: true, answer: accepted.data } : undefined;
}

/** refresh: a new expiry (ms since the Unix epoch), or a refusal (the connection ends as expired). */
export function readRefreshAnswer(answer: unknown): { readonly expiresAt: number } | { readonly refused: string } | undefined {
  const refused = refusalSchema.safeParse(answer);
  if (refused.success) return { refused: refused.data.refuse.reason ?? 'session ended by the backend' };
  const extended = z.strictObject({ expiresAt: z.number().int().positive() }).safeParse(answer);
  return extended.success ? extended.data : undefined;
}

export type RequestRefusal = Refusal<(typeof REQUEST_REFUSAL_CODES)[number]>;

/** subscribe: `{"allow": true}` or a refusal. */
export function readSubscribeAnswer(answer: unknown): { readonly allow: true } | { readonly refusal: RequestRefusal } | undefined {
  const refused = refusalSchema.safeParse(answer);
  if (refused.success) return { refusal: refusal(refused.data, REQUEST_REFUSAL_CODES) };
  return z.strictObject({ allow: z.literal(true) }).safeParse(answer).success ? { allow: true } : undefined;
}

const publishSchema = z.union([
  z.strictObject({ allow: z.literal(true) }),
  z.strictObject({ allow: z.literal(true), data: z.unknown().refine((value) => value !== undefined, 'data must be a JSON value') }),
  z.strictObject({ allow: z.literal(true), dataBase64: z.base64() }),
]);

/** publish: allowed as sent, allowed with a replaced payload (JSON `data` or binary `dataBase64`), or refused. */
export type PublishAnswer =
  | { readonly allow: true; readonly data?: unknown; readonly dataBase64?: string }
  | { readonly refusal: RequestRefusal };

export function readPublishAnswer(answer: unknown): PublishAnswer | undefined {
  const refused = refusalSchema.safeParse(answer);
  if (refused.success) return { refusal: refusal(refused.data, REQUEST_REFUSAL_CODES) };
  const allowed = publishSchema.safeParse(answer);
  return allowed.success ? (allowed.data as PublishAnswer) : undefined;
}

/** rpc: the result `data` (any JSON value, null when absent), or a refusal. */
export function readRpcAnswer(answer: unknown): { readonly data: unknown } | { readonly refusal: RequestRefusal } | undefined {
  const refused = refusalSchema.safeParse(answer);
  if (refused.success) return { refusal: refusal(refused.data, REQUEST_REFUSAL_CODES) };
  const result = z.strictObject({ data: z.unknown() }).safeParse(answer);
  return result.success ? { data: result.data.data ?? null } : undefined;
}
