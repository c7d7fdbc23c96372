import type { LeaveReason, PresenceEntry, PresenceMember } from './engine.js';

/**
 * How presence members and entries look in Redis (the layout is redis-presence-scripts.ts's). Pure: no I/O.
 *
 * A member, as a node's members hash stores it under its connection id: `-<info>` when anonymous, else
 * `<byte length of user>:<user><info>`, so a user id may hold any character and the scripts split it without
 * parsing JSON; the info is JSON text, or empty when absent.
 */

export function encodeMember(member: PresenceMember): string {
  const info = member.info ?? '';
  return member.user === undefined ? `-${info}` : `${Buffer.byteLength(member.user)}:${member.user}${info}`;
}

/** The member stored under `connectionId`; undefined if `value` is not one. */
export function decodeMember(connectionId: string, value: Buffer | string): PresenceMember | undefined {
  const text = typeof value === 'string' ? value : undefined;
  if (text !== undefined) {
    if (text.charCodeAt(0) === 0x2d /* - */) return member(connectionId, undefined, text.slice(1));
    // The length counts bytes; for an ASCII user (the usual case) they are its characters, so no Buffer is made.
    const colon = text.indexOf(':');
    const length = colon < 1 ? Number.NaN : Number(text.slice(0, colon));
    const user = text.substr(colon + 1, length);
    if (Number.isSafeInteger(length) && user.length === length && asciiOnly.test(user)) return member(connectionId, user, text.slice(colon + 1 + length));
  }
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  if (bytes[0] === 0x2d /* - */) return member(connectionId, undefined, bytes.toString('utf8', 1));
  const colon = bytes.indexOf(0x3a /* : */);
  const length = colon < 1 ? Number.NaN : Number(bytes.toString('latin1', 0, colon));
  if (!(Number.isSafeInteger(length) && length >= 0 && colon + 1 + length <= bytes.length)) return undefined;
  return member(connectionId, bytes.toString('utf8', colon + 1, colon + 1 + length), bytes.toString('utf8', colon + 1 + length));
}

const asciiOnly = /^[\x00-\x7f]*$/;

function member(connectionId: string, user: string | undefined, info: string): PresenceMember {
  if (user === undefined) return info === '' ? { connectionId } : { connectionId, info };
  return info === '' ? { connectionId, user } : { connectionId, user, info };
}

const leaveReasons: ReadonlySet<string> = new Set<LeaveReason>(['left', 'disconnected', 'expired', 'server']);

/** An entry's body (`{"t":topic,"k":...}`) with its position and time; undefined if it is not one. */
export function decodePresenceEntry(body: Buffer | string, offset: number, seq: number, epoch: string, time: number): PresenceEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString());
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { t: topic, k: kind, c, u, i, f, l, r, n, q } = value as Record<string, unknown>;
  if (typeof topic !== 'string') return undefined;
  const position = { topic, offset, seq, epoch, time };
  if (kind === 's') {
    if (!Array.isArray(n) || n.length !== 3 || !n.every((count) => Number.isSafeInteger(count)) || !Number.isSafeInteger(q)) return undefined;
    const [connections, users, anonymous] = n as [number, number, number];
    return { ...position, kind: 'stats', counts: { connections, users, anonymous }, coalesced: q as number };
  }
  if (typeof c !== 'string' || (u !== undefined && typeof u !== 'string') || (i !== undefined && typeof i !== 'string')) return undefined;
  const member: PresenceMember = { connectionId: c, ...(u === undefined ? {} : { user: u }), ...(i === undefined ? {} : { info: i }) };
  if (kind === 'j' && typeof f === 'boolean') return { ...position, kind: 'join', member, first: f };
  if (kind === 'l' && typeof l === 'boolean' && typeof r === 'string' && leaveReasons.has(r)) {
    return { ...position, kind: 'leave', member, last: l, reason: r as LeaveReason };
  }
  return undefined;
}
