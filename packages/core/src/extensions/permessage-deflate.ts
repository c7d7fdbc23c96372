import { CloseCode } from '../constants.js';
import { ErrorCode, WebSocketError } from '../errors.js';
import { formatExtension, type ExtensionOffer, type ExtensionParamValue } from './extension-header.js';

/** RFC 7692 §7: the extension token. */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** RFC 7692 §7.1: the only parameters an offer or a response may carry. */
export const DeflateParam = {
  serverNoContextTakeover: 'server_no_context_takeover',
  clientNoContextTakeover: 'client_no_context_takeover',
  serverMaxWindowBits: 'server_max_window_bits',
  clientMaxWindowBits: 'client_max_window_bits',
} as const;
export type DeflateParam = (typeof DeflateParam)[keyof typeof DeflateParam];

/** RFC 7692 §7.1.2: LZ77 window sizes, as base-2 logarithms. */
export const WindowBits = { min: 8, max: 15 } as const;

/**
 * RFC 7692 §7.1.2.1: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
 * Matching the text rather than `Number()` rejects `08`, `+9`, `0x9` and `9.0`.
 */
const WINDOW_BITS_VALUE = /^(?:[89]|1[0-5])$/;

/**
 * Preferences for permessage-deflate (RFC 7692): what a client offers, or what a server accepts and
 * answers. Every field is optional; the defaults suit a broker that compresses a broadcast once.
 */
export interface PerMessageDeflateOptions {
  /**
   * Server: answer with `server_no_context_takeover`, so each message we send is compressed on its own.
   * Client: ask the server for that in the offer. A server always honours the request when a client
   * makes it (RFC 7692 §7.1.1.1), whatever this option says.
   * @default true for a server answering: the broker compresses a broadcast once and sends the same frame
   *   to every subscriber, which is only valid when no frame depends on a per-connection history.
   *   false for a client offering: the server decides, and ours decides for no takeover anyway.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Server: answer with `client_no_context_takeover`, forbidding the client to refer back to earlier
   * messages. Client: offer it, promising not to (§7.1.1.2).
   * @default false: the history costs the receiver one window (2^client_max_window_bits bytes) per
   *   connection, and only on connections that send compressed messages; it buys a much better ratio on
   *   the small, repetitive messages of a pub/sub session.
   */
  clientNoContextTakeover?: boolean;
  /**
   * Server: the largest window our deflater uses; a client's `server_max_window_bits=N` lowers it to N.
   * Client: offered as `server_max_window_bits`, a limit the server must accept or the offer fails.
   * Range 8..15.
   * @default 15 for a server (zlib's largest window, best ratio); not offered by a client (no limit).
   */
  serverMaxWindowBits?: number;
  /**
   * Server: the largest window the client may use, answered only when the client's offer carries
   * `client_max_window_bits` (§7.1.2.2 forbids it otherwise; such offers are accepted with 15).
   * Client: offered as `client_max_window_bits=N`, the window we promise not to exceed; without it the
   * offer carries a bare `client_max_window_bits` so the server may still pick a limit. Range 8..15.
   * @default 15: no limit, the best ratio; set it lower to save inflate memory per connection.
   */
  clientMaxWindowBits?: number;
  /**
   * Messages smaller than this many bytes are sent uncompressed.
   * @default 1024: below about 1 KiB deflate saves a few bytes at best and costs a zlib call per message.
   */
  threshold?: number;
  /**
   * zlib compression level, 0..9 (or -1 for zlib's default).
   * @default -1 (zlib's default, level 6): the usual balance of speed and ratio.
   */
  level?: number;
  /**
   * zlib memLevel, 1..9: memory for the deflater's internal state, 2^(memLevel + 9) bytes for hashing.
   * @default 8 (zlib's default): level 9 gains little ratio for twice the memory.
   */
  memLevel?: number;
}

/** The agreed parameters of one connection (RFC 7692 §7.1), the same on both sides. */
export interface DeflateParams {
  /** The server compresses each message on its own, without the window of earlier ones. */
  serverNoContextTakeover: boolean;
  /** The client compresses each message on its own, without the window of earlier ones. */
  clientNoContextTakeover: boolean;
  /** The LZ77 window (base-2 logarithm, 8..15) the server compresses with; the client inflates with it. */
  serverMaxWindowBits: number;
  /** The LZ77 window (base-2 logarithm, 8..15) the client compresses with; the server inflates with it. */
  clientMaxWindowBits: number;
}

// Negotiation (RFC 7692 §5, §7.1); the compression itself is in permessage-deflate-codec.ts.

/** The client's `Sec-WebSocket-Extensions` value offering permessage-deflate with `options`. */
export function deflateOffer(options: PerMessageDeflateOptions = {}): string {
  checkOptions(options);
  const params: [string, ExtensionParamValue][] = [];
  if (options.serverNoContextTakeover === true) params.push([DeflateParam.serverNoContextTakeover, true]);
  if (options.clientNoContextTakeover === true) params.push([DeflateParam.clientNoContextTakeover, true]);
  if (options.serverMaxWindowBits !== undefined) {
    params.push([DeflateParam.serverMaxWindowBits, String(options.serverMaxWindowBits)]);
  }
  // §7.1.2.2: always offered, so a server short of memory may limit our window rather than decline.
  params.push([
    DeflateParam.clientMaxWindowBits,
    options.clientMaxWindowBits === undefined ? true : String(options.clientMaxWindowBits),
  ]);
  return formatExtension(PERMESSAGE_DEFLATE, params);
}

/**
 * Server side: accepts the first permessage-deflate offer it can (the client lists them in order of
 * preference, RFC 6455 §9.1) and returns the agreed parameters with the response header value, or
 * undefined when every offer had to be declined. Offers of other extensions are skipped.
 *
 * RFC 7692 §5: a server MUST decline an offer that has a parameter not defined for offers, a parameter
 * with an invalid value, or the same parameter twice.
 */
export function negotiateDeflate(
  offers: readonly ExtensionOffer[],
  options: PerMessageDeflateOptions = {},
): {
  /** The parameters agreed, for the connection's `PerMessageDeflate`. */
  params: DeflateParams;
  /** The `Sec-WebSocket-Extensions` value to answer with. */
  response: string;
} | undefined {
  checkOptions(options);
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const accepted = acceptOffer(offer, options);
    if (accepted !== undefined) return accepted;
  }
  return undefined;
}

function acceptOffer(
  offer: ExtensionOffer,
  options: PerMessageDeflateOptions,
): { params: DeflateParams; response: string } | undefined {
  if (offer.duplicateParams.length > 0) return undefined;
  let serverNoContextTakeover = options.serverNoContextTakeover ?? true;
  let clientNoContextTakeover = options.clientNoContextTakeover ?? false;
  let serverMaxWindowBits = options.serverMaxWindowBits ?? WindowBits.max;
  let serverBitsRequested = false;
  let clientBitsOffered: number | undefined;
  for (const [name, value] of offer.params) {
    switch (name) {
      case DeflateParam.serverNoContextTakeover:
        if (value !== true) return undefined;
        serverNoContextTakeover = true;
        break;
      case DeflateParam.clientNoContextTakeover:
        if (value !== true) return undefined;
        // §7.1.1.2: the client will not use context takeover whatever we answer; saying so keeps both
        // sides' view of the agreement identical.
        clientNoContextTakeover = true;
        break;
      case DeflateParam.serverMaxWindowBits: {
        const bits = parseWindowBits(value);
        if (bits === undefined) return undefined;
        // §7.1.2.1: accepted by answering "the same or smaller value as the offer".
        serverMaxWindowBits = Math.min(serverMaxWindowBits, bits);
        serverBitsRequested = true;
        break;
      }
      case DeflateParam.clientMaxWindowBits: {
        // §7.1.2.2: the value is optional in an offer; a bare parameter only says "you may limit me".
        const bits = value === true ? WindowBits.max : parseWindowBits(value);
        if (bits === undefined) return undefined;
        clientBitsOffered = bits;
        break;
      }
      default:
        return undefined;
    }
  }
  // §7.1.2.2: without client_max_window_bits in the offer the response MUST NOT carry it, so the client
  // may use the full window.
  const clientMaxWindowBits =
    clientBitsOffered === undefined
      ? WindowBits.max
      : Math.min(clientBitsOffered, options.clientMaxWindowBits ?? WindowBits.max);

  const response: [string, ExtensionParamValue][] = [];
  if (serverNoContextTakeover) response.push([DeflateParam.serverNoContextTakeover, true]);
  if (clientNoContextTakeover) response.push([DeflateParam.clientNoContextTakeover, true]);
  // §7.1.2.1: a server MAY include server_max_window_bits even when the offer did not.
  if (serverBitsRequested || serverMaxWindowBits < WindowBits.max) {
    response.push([DeflateParam.serverMaxWindowBits, String(serverMaxWindowBits)]);
  }
  if (clientBitsOffered !== undefined && clientMaxWindowBits < WindowBits.max) {
    response.push([DeflateParam.clientMaxWindowBits, String(clientMaxWindowBits)]);
  }
  return {
    params: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits },
    response: formatExtension(PERMESSAGE_DEFLATE, response),
  };
}

/**
 * Client side: checks the server's accepted permessage-deflate against the offer `deflateOffer(options)`
 * made, and returns the agreed parameters.
 *
 * @throws WebSocketError `ERR_WS_INVALID_EXTENSION` with close code 1010 when RFC 7692 §5 makes the client
 *   fail the connection: an unknown parameter, an invalid value, a repeated parameter, or a configuration
 *   the offer did not allow (a larger server window than requested, an ignored request for
 *   server_no_context_takeover).
 */
export function acceptDeflateResponse(response: ExtensionOffer, options: PerMessageDeflateOptions = {}): DeflateParams {
  checkOptions(options);
  if (response.name !== PERMESSAGE_DEFLATE) fail(`server accepted ${response.name}, not ${PERMESSAGE_DEFLATE}`);
  const [duplicate] = response.duplicateParams;
  if (duplicate !== undefined) fail(`server repeated ${duplicate}`);
  let serverNoContextTakeover = false;
  // §7.1.1.2: having offered client_no_context_takeover, we do not use context takeover either way.
  let clientNoContextTakeover = options.clientNoContextTakeover === true;
  let serverMaxWindowBits: number | undefined;
  let clientMaxWindowBits = options.clientMaxWindowBits ?? WindowBits.max;
  for (const [name, value] of response.params) {
    switch (name) {
      case DeflateParam.serverNoContextTakeover:
        // §7.1.1.1: a server may answer with it even when we did not ask.
        if (value !== true) fail(`${name} takes no value`);
        serverNoContextTakeover = true;
        break;
      case DeflateParam.clientNoContextTakeover:
        if (value !== true) fail(`${name} takes no value`);
        clientNoContextTakeover = true;
        break;
      case DeflateParam.serverMaxWindowBits: {
        const bits = parseWindowBits(value);
        if (bits === undefined) fail(`invalid ${name}`);
        if (options.serverMaxWindowBits !== undefined && bits > options.serverMaxWindowBits) {
          fail(`${name}=${bits} exceeds the ${options.serverMaxWindowBits} we offered`);
        }
        serverMaxWindowBits = bits;
        break;
      }
      case DeflateParam.clientMaxWindowBits: {
        // In a response the value is required (§7.1.2.2). A value above the one we offered is allowed,
        // the server "may either ignore this value or use" it; we keep to the smaller one.
        const bits = parseWindowBits(value);
        if (bits === undefined) fail(`invalid ${name}`);
        clientMaxWindowBits = Math.min(clientMaxWindowBits, bits);
        break;
      }
      default:
        fail(`unknown parameter ${name}`);
    }
  }
  // §7.1.1.1 / §7.1.2.1: a server accepts these requests by echoing them; an answer without them
  // accepted no offer we made.
  if (options.serverNoContextTakeover === true && !serverNoContextTakeover) {
    fail(`server ignored the requested ${DeflateParam.serverNoContextTakeover}`);
  }
  if (options.serverMaxWindowBits !== undefined && serverMaxWindowBits === undefined) {
    fail(`server ignored the requested ${DeflateParam.serverMaxWindowBits}`);
  }
  return {
    serverNoContextTakeover,
    clientNoContextTakeover,
    serverMaxWindowBits: serverMaxWindowBits ?? WindowBits.max,
    clientMaxWindowBits,
  };
}

function parseWindowBits(value: ExtensionParamValue): number | undefined {
  return value !== true && WINDOW_BITS_VALUE.test(value) ? Number(value) : undefined;
}

function fail(message: string): never {
  throw new WebSocketError(ErrorCode.invalidExtension, `Invalid permessage-deflate response: ${message}`, CloseCode.mandatoryExtension);
}

function checkOptions(options: PerMessageDeflateOptions): void {
  checkWindowBits('serverMaxWindowBits', options.serverMaxWindowBits);
  checkWindowBits('clientMaxWindowBits', options.clientMaxWindowBits);
}

/** @internal Shared with the codec, which checks the agreed parameters it is built from. */
export function checkWindowBits(name: string, bits: number | undefined): void {
  if (bits !== undefined && !(Number.isInteger(bits) && bits >= WindowBits.min && bits <= WindowBits.max)) {
    throw new WebSocketError(ErrorCode.invalidArgument, `${name} must be an integer from 8 to 15, got ${bits}`);
  }
}
