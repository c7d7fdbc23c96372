import type { Duplex } from 'node:stream';
import { ProtocolCloseCode, type ProtocolErrorCode, SUBPROTOCOL } from '@switchboard/protocol';
import { rejectUpgrade, type UpgradeOptions } from '@switchboard/core';
import type { Config } from '../config/config.js';

/**
 * The broker's policy on an upgrade request (protocol.md §2.1), applied through core's RFC 6455
 * handshake: which subprotocol outcome it serves, which origins it allows, and how it words a refusal.
 */

/** The outcome of the subprotocol check. */
export type SubprotocolCheck = 'offered' | 'absent-allowed' | 'refused';

/**
 * protocol.md §2.1: the client must offer `pubsub.v1`, which core's handshake then selects (`selected`, ''
 * when the client offered only other protocols, or no header at all). A request without the header may be
 * served when configured; one that offers only other protocols is always refused. `bearer.<token>`
 * entries carry credentials (§2.2): core never selects them, since the broker supports only `pubsub.v1`.
 */
export function checkSubprotocol(selected: string, headerPresent: boolean, allowMissing: boolean): SubprotocolCheck {
  if (selected === SUBPROTOCOL) return 'offered';
  return !headerPresent && allowMissing ? 'absent-allowed' : 'refused';
}

/**
 * An Origin allowlist (RFC 6454 serialized origins), for core's `verifyOrigin`. Entries are exact
 * (`https://app.example`) or allow one level of subdomains and deeper (`https://*.example.com` matches
 * `https://a.example.com` and `https://a.b.example.com`, not `https://example.com`). An empty list allows
 * every origin.
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
 * Core's handshake and connection options for every upgrade of a broker. Built once: the WebSocket keeps
 * `keepaliveClose`, which as a literal in the upgrade path was an object per connection.
 */
export function upgradeOptionsOf(config: Config): UpgradeOptions {
  return {
    protocols: [SUBPROTOCOL],
    verifyOrigin: originChecker(config.allowedOrigins, config.allowMissingOrigin),
    perMessageDeflate: config.perMessageDeflate ? { threshold: config.deflateThresholdBytes } : false,
    maxMessageSize: config.maxFrameBytes,
    highWaterMark: config.highWaterMarkBytes,
    closeTimeout: config.closeTimeoutMs,
    // Core pings and watches the peer, and ends a silent one with 4004 (protocol.md §11); the session
    // closes on core's keepalive error first, so its own state changes at once (see Session.socketError).
    pingInterval: config.pingIntervalMs,
    keepaliveClose: { code: ProtocolCloseCode.pingTimeout, reason: 'no answer to ping' },
  };
}

/**
 * Answers a refused upgrade with an HTTP status and the JSON body protocol.md §2.1 specifies
 * (`{"code": ..., "message": ...}`), through core's `rejectUpgrade`: it checks the extra headers, ends the
 * socket, and destroys it a second later if the peer never reads the answer.
 */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  code: ProtocolErrorCode,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  rejectUpgrade(socket, status, JSON.stringify({ code, message }), { ...REFUSAL_HEADERS, ...headers });
}

/** A refusal is JSON (protocol.md §2.1) and never cached: the next attempt may well succeed. */
const REFUSAL_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' } as const;
