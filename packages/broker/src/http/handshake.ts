import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { BEARER_PROTOCOL_PREFIX, type ProtocolErrorCode, SUBPROTOCOL } from '@switchboard/protocol';
import { offeredProtocols } from '../auth/authenticator.js';

/**
 * The broker's own checks on an upgrade request, before core's RFC 6455 handshake (protocol.md §2.1).
 * Pure functions over headers, plus the one function that answers a refused upgrade.
 */

/** The outcome of the subprotocol check. */
export type SubprotocolCheck = 'offered' | 'absent-allowed' | 'refused';

/**
 * protocol.md §2.1: the client must offer `pubsub.v1`. A request without the header at all may be served
 * when configured; one that offers only other protocols is always refused. `bearer.<token>` entries carry
 * credentials (§2.2) and are not protocols.
 */
export function checkSubprotocol(headers: IncomingHttpHeaders, allowMissing: boolean): SubprotocolCheck {
  if (headers['sec-websocket-protocol'] === undefined) return allowMissing ? 'absent-allowed' : 'refused';
  const offered = offeredProtocols(headers).filter((entry) => !entry.startsWith(BEARER_PROTOCOL_PREFIX));
  return offered.includes(SUBPROTOCOL) ? 'offered' : 'refused';
}

/**
 * An Origin allowlist (RFC 6454 serialized origins). Entries are exact (`https://app.example`) or allow
 * one level of subdomains and deeper (`https://*.example.com` matches `https://a.example.com` and
 * `https://a.b.example.com`, not `https://example.com`). An empty list allows every origin.
 */
export function originChecker(allowed: readonly string[], allowMissing: boolean): (origin: string | undefined) => boolean {
  if (allowed.length === 0) return () => true;
  const exact = new Set(allowed.filter((entry) => !entry.includes('*')).map((entry) => entry.toLowerCase()));
  const wildcards = allowed
    .filter((entry) => entry.includes('://*.'))
    .map((entry) => {
      const [scheme, rest] = entry.toLowerCase().split('://*.') as [string, string];
      return { prefix: `${scheme}://`, suffix: `.${rest}` };
    });
  return (origin) => {
    if (origin === undefined) return allowMissing;
    const lower = origin.toLowerCase();
    if (exact.has(lower)) return true;
    return wildcards.some(({ prefix, suffix }) => lower.startsWith(prefix) && lower.endsWith(suffix) && lower.length > prefix.length + suffix.length);
  };
}

/**
 * Answers a refused upgrade with an HTTP status and the JSON body protocol.md §2.1 specifies
 * (`{"code": ..., "message": ...}`), then ends the socket; a peer that never reads the answer loses the
 * socket a second later. (Core's `rejectUpgrade` sends text/plain, so the broker writes its own.)
 */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  code: ProtocolErrorCode,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = JSON.stringify({ code, message });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
  ];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (socket.writable) socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 1000).unref();
}
