import { toBase64, utf8ByteLength } from './bytes.js';
import { CloseCode, WEBSOCKET_GUID, WEBSOCKET_VERSION } from './constants.js';
import { ErrorCode, WebSocketError, handshakeRejected } from './errors.js';
import { isToken, parseExtensions, type ExtensionOffer } from './extensions/extension-header.js';
import {
  PERMESSAGE_DEFLATE,
  acceptDeflateResponse,
  deflateOffer,
  negotiateDeflate,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from './extensions/permessage-deflate.js';
import { HttpStatus, reasonPhrase } from './http-status.js';
import type { Platform } from './platform.js';

export { HttpStatus } from './http-status.js';

/**
 * The opening handshake (RFC 6455 §4) as pure functions over header maps shaped like Node's
 * `IncomingHttpHeaders`: lowercase names, a value or a list of values. Nothing here touches a socket; the
 * SHA-1 and the randomness come from the `Platform` the caller passes.
 */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** Header names, lowercase as Node delivers them. */
const Header = {
  host: 'host',
  upgrade: 'upgrade',
  connection: 'connection',
  origin: 'origin',
  key: 'sec-websocket-key',
  version: 'sec-websocket-version',
  protocol: 'sec-websocket-protocol',
  extensions: 'sec-websocket-extensions',
  accept: 'sec-websocket-accept',
} as const;

/** The headers the handshake itself sets on a client request; callers may not override them. */
const CLIENT_HANDSHAKE_HEADERS: ReadonlySet<string> = new Set([
  Header.upgrade,
  Header.connection,
  Header.key,
  Header.version,
  Header.protocol,
  Header.extensions,
]);

/**
 * The headers `rejectionResponse` sets and a caller may not: a second copy (two Content-Length) would make
 * the response ambiguous. Content-Type is the caller's to replace.
 */
const REJECTION_HEADERS: ReadonlySet<string> = new Set(['connection', 'content-length']);
const CONTENT_TYPE = 'content-type';
const DEFAULT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** RFC 6455 §4.1: the key is "a randomly selected 16-byte value that has been base64-encoded". */
const KEY_BYTES = 16;
/**
 * 16 bytes in base64: 21 characters, a 22nd that carries the last 2 bits with the 4 unused bits zero (so
 * only A, Q, g or w: the key is the one canonical encoding of its 16 bytes), then `==` padding.
 */
const KEY_SYNTAX = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/** RFC 6455 §1.3 / §4.2.2: base64 of the SHA-1 of the key followed by the GUID. */
export function computeAccept(key: string, platform: Platform): string {
  return toBase64(platform.sha1(platform.encodeUtf8(key + WEBSOCKET_GUID)));
}

/**
 * A fresh Sec-WebSocket-Key (RFC 6455 §4.1): base64 of 16 random bytes.
 * @param random source of the bytes: `randomBytesFrom(platform)`, or a fixed source in tests.
 */
export function generateKey(random: (size: number) => Uint8Array): string {
  const bytes = random(KEY_BYTES);
  if (bytes.length !== KEY_BYTES) {
    throw new WebSocketError(ErrorCode.invalidArgument, `key source returned ${bytes.length} bytes, not ${KEY_BYTES}`);
  }
  return toBase64(bytes);
}

/** `size` fresh bytes from `platform.randomFill`, the shape `generateKey` takes. */
export function randomBytesFrom(platform: Platform): (size: number) => Uint8Array {
  return (size) => {
    const bytes = new Uint8Array(size);
    platform.randomFill(bytes);
    return bytes;
  };
}

/** Strict: 24 characters of the standard alphabet, `==` padding, and unused bits zero (see KEY_SYNTAX). */
function isValidKey(key: string): boolean {
  return KEY_SYNTAX.test(key);
}

// ---------------------------------------------------------------------------------------------------------
// Server side (RFC 6455 §4.2)
// ---------------------------------------------------------------------------------------------------------

/** What a server accepts in an opening handshake: subprotocols, origins, compression. */
export interface ServerHandshakeOptions {
  /**
   * Supported subprotocols in the server's order of preference: the first of these that the client
   * offered is selected (RFC 6455 §4.2.2). When none matches the handshake still succeeds with no
   * subprotocol, as §4.2.2 allows; the application decides whether to close.
   * @default [] (no subprotocol is ever selected)
   */
  protocols?: readonly string[];
  /**
   * Called with the Origin header (undefined when absent; repeated headers joined by ", "); returning
   * false refuses the handshake with 403 (RFC 6455 §4.2.2, §10.2). Browsers always send Origin; other
   * clients may not, so decide what undefined means.
   * @default undefined (every origin is accepted: the broker authenticates connections itself)
   */
  verifyOrigin?: (origin: string | undefined) => boolean;
  /**
   * Accept permessage-deflate offers with these preferences, or false to ignore Sec-WebSocket-Extensions.
   * @default false: compression costs CPU per message and memory per connection; turn it on when messages
   *   are large and compressible.
   */
  perMessageDeflate?: PerMessageDeflateOptions | false;
}

/** The parts of an HTTP upgrade request the handshake reads, as Node's `IncomingMessage` has them. */
export interface HandshakeRequest {
  /** The request method; anything but GET is refused with 405. */
  method: string;
  /** As Node reports it, e.g. `1.1`. */
  httpVersion: string;
  /** The request headers, names lowercase. */
  headers: HeaderMap;
}

/** `acceptHandshake`'s verdict: the 101 answer and what was agreed, or the refusal and its status. */
export type ServerHandshake =
  | {
      /** The handshake is accepted: send `response`, then speak WebSocket. */
      accepted: true;
      /** The selected subprotocol, or '' for none. */
      protocol: string;
      /** The Sec-WebSocket-Extensions value sent, or '' for none. */
      extensions: string;
      /** The permessage-deflate parameters agreed, to build the connection's compressor; undefined for none. */
      deflate: DeflateParams | undefined;
      /** The whole 101 response, ending with the blank line. */
      response: string;
    }
  | {
      /** The handshake is refused: send `response` and close the socket. */
      accepted: false;
      /** The HTTP status of the refusal (400, 403, 405 or 426). */
      status: number;
      /** Why, for people: the response's body and a log line. */
      reason: string;
      /** The whole HTTP error response, body included. */
      response: string;
    };

/**
 * Checks a client's opening handshake and builds the answer (RFC 6455 §4.2.1, §4.2.2). Checks run in this
 * order, the first failure deciding the status:
 *
 * - method GET, else 405 with `Allow: GET`;
 * - HTTP/1.1 or later, else 400 (§4.1 requires 1.1; 505 would claim the major version is unsupported);
 * - a single non-empty Host, else 400;
 * - Upgrade listing `websocket` and Connection listing `upgrade`, case-insensitively, else 400;
 * - Sec-WebSocket-Version exactly 13, else 426 with `Sec-WebSocket-Version: 13` (§4.2.2), also when the
 *   header is missing: either way the client's remedy is the same, to speak version 13;
 * - Sec-WebSocket-Key the base64 of 16 bytes, else 400;
 * - the Origin hook, else 403;
 * - Sec-WebSocket-Protocol, when present, a list of unique tokens (§4.1), else 400;
 * - Sec-WebSocket-Extensions, when permessage-deflate is enabled and the header present, well-formed
 *   (RFC 6455 §9.1), else 400. Unknown extensions are ignored; only permessage-deflate is negotiated.
 *
 * @throws WebSocketError `ERR_WS_INVALID_ARGUMENT` when `options.protocols` holds a non-token.
 */
export function acceptHandshake(request: HandshakeRequest, options: ServerHandshakeOptions, platform: Platform): ServerHandshake {
  const supportedProtocols = options.protocols ?? [];
  checkProtocols(supportedProtocols);
  const { headers } = request;

  if (request.method !== 'GET') {
    return refuse(HttpStatus.methodNotAllowed, 'Method must be GET', { Allow: 'GET' });
  }
  if (!isHttp11OrLater(request.httpVersion)) {
    return refuse(HttpStatus.badRequest, 'HTTP/1.1 or later is required');
  }
  const host = headers[Header.host];
  const hosts = Array.isArray(host) ? host : [host];
  if (hosts.length !== 1 || hosts[0] === undefined || hosts[0].trim() === '') {
    return refuse(HttpStatus.badRequest, 'Missing or repeated Host header');
  }
  if (!listHeader(headers, Header.upgrade).some((token) => token.toLowerCase() === 'websocket')) {
    return refuse(HttpStatus.badRequest, 'Upgrade header must be websocket');
  }
  if (!listHeader(headers, Header.connection).some((token) => token.toLowerCase() === 'upgrade')) {
    return refuse(HttpStatus.badRequest, 'Connection header must include Upgrade');
  }
  if (joinedHeader(headers, Header.version) !== WEBSOCKET_VERSION) {
    return refuse(HttpStatus.upgradeRequired, 'Unsupported WebSocket version', {
      'Sec-WebSocket-Version': WEBSOCKET_VERSION,
    });
  }
  const key = headers[Header.key];
  if (typeof key !== 'string' || !isValidKey(key)) {
    return refuse(HttpStatus.badRequest, 'Invalid Sec-WebSocket-Key header');
  }
  if (options.verifyOrigin !== undefined && !options.verifyOrigin(joinedHeader(headers, Header.origin))) {
    return refuse(HttpStatus.forbidden, 'Origin not allowed');
  }

  let protocol = '';
  const offeredProtocols = joinedHeader(headers, Header.protocol);
  if (offeredProtocols !== undefined) {
    const offered = parseProtocolList(offeredProtocols);
    if (offered === undefined) return refuse(HttpStatus.badRequest, 'Invalid Sec-WebSocket-Protocol header');
    protocol = supportedProtocols.find((candidate) => offered.includes(candidate)) ?? '';
  }

  let extensions = '';
  let deflate: DeflateParams | undefined;
  const offeredExtensions = headers[Header.extensions];
  if (options.perMessageDeflate !== undefined && options.perMessageDeflate !== false && offeredExtensions !== undefined) {
    let offers: ExtensionOffer[];
    try {
      offers = parseExtensions(offeredExtensions);
    } catch {
      return refuse(HttpStatus.badRequest, 'Invalid Sec-WebSocket-Extensions header');
    }
    const negotiated = negotiateDeflate(offers, options.perMessageDeflate);
    if (negotiated !== undefined) {
      extensions = negotiated.response;
      deflate = negotiated.params;
    }
  }

  const lines = [
    `HTTP/1.1 ${HttpStatus.switchingProtocols} ${reasonPhrase(HttpStatus.switchingProtocols)}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${computeAccept(key, platform)}`,
  ];
  if (protocol !== '') lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  if (extensions !== '') lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
  return { accepted: true, protocol, extensions, deflate, response: `${lines.join('\r\n')}\r\n\r\n` };
}

function refuse(status: number, reason: string, headers?: Record<string, string>): ServerHandshake {
  return { accepted: false, status, reason, response: rejectionResponse(status, reason, headers) };
}

/**
 * A complete HTTP error response that closes the connection, with `body` as its body: text/plain unless
 * `extraHeaders` has a Content-Type, which then takes the default's place. The other extra headers follow
 * Content-Length in their order. Usable for the caller's own refusals too (401 before authentication,
 * 503 with Retry-After at a connection limit, a JSON body for an API's error format).
 *
 * @throws WebSocketError `ERR_WS_INVALID_ARGUMENT` for a status outside 300..599, a header name that is
 *   not a token, a value with a control character (CR or LF would let it inject headers), or a header
 *   this function sets itself (Connection, Content-Length).
 */
export function rejectionResponse(status: number, body: string, extraHeaders: Readonly<Record<string, string>> = {}): string {
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new WebSocketError(ErrorCode.invalidArgument, `rejection status must be 300..599, got ${status}`);
  }
  let contentType = DEFAULT_CONTENT_TYPE;
  const extra: string[] = [];
  for (const [name, value] of Object.entries(extraHeaders)) {
    checkHeader(name, value);
    const lower = name.toLowerCase();
    if (REJECTION_HEADERS.has(lower)) {
      throw new WebSocketError(ErrorCode.invalidArgument, `rejectionResponse sets ${name} itself`);
    }
    if (lower === CONTENT_TYPE) contentType = value;
    else extra.push(`${name}: ${value}`);
  }
  const lines = [
    `HTTP/1.1 ${status} ${reasonPhrase(status)}`,
    'Connection: close',
    `Content-Type: ${contentType}`,
    `Content-Length: ${utf8ByteLength(body)}`,
    ...extra,
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

function isHttp11OrLater(version: string): boolean {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  if (match === null) return false;
  const major = Number(match[1]);
  return major > 1 || (major === 1 && Number(match[2]) >= 1);
}

/**
 * RFC 6455 §4.1: `Sec-WebSocket-Protocol = 1#token`, elements "MUST all be unique strings". Empty list
 * elements are skipped (RFC 7230 §7). Undefined when the list breaks either rule or holds nothing.
 */
function parseProtocolList(value: string): string[] | undefined {
  const protocols = splitList(value);
  if (protocols.length === 0 || !protocols.every(isToken) || new Set(protocols).size !== protocols.length) {
    return undefined;
  }
  return protocols;
}

function checkProtocols(protocols: readonly string[]): void {
  for (const protocol of protocols) {
    if (!isToken(protocol)) {
      throw new WebSocketError(ErrorCode.invalidArgument, `subprotocol ${JSON.stringify(protocol)} is not a token`);
    }
  }
  if (new Set(protocols).size !== protocols.length) {
    throw new WebSocketError(ErrorCode.invalidArgument, 'subprotocols must be unique (RFC 6455 §4.1)');
  }
}

function checkHeader(name: string, value: string): void {
  if (!isToken(name)) throw new WebSocketError(ErrorCode.invalidArgument, `header name ${JSON.stringify(name)} is not a token`);
  // RFC 7230 §3.2: field-content is visible characters, spaces and tabs (obs-text aside).
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
    throw new WebSocketError(ErrorCode.invalidArgument, `header ${name} has a control character in its value`);
  }
}

/** A header's value, repeated headers joined the way Node joins them. */
function joinedHeader(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The elements of a comma-separated header (RFC 7230 §7), repeated headers included. */
function listHeader(headers: HeaderMap, name: string): string[] {
  const value = joinedHeader(headers, name);
  return value === undefined ? [] : splitList(value);
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((element) => element.replace(/^[ \t]+|[ \t]+$/g, ''))
    .filter((element) => element !== '');
}

// ---------------------------------------------------------------------------------------------------------
// Client side (RFC 6455 §4.1)
// ---------------------------------------------------------------------------------------------------------

/** A client's opening handshake, to send and then to check the server's answer against. */
export interface ClientHandshake {
  /** The Sec-WebSocket-Key sent; the response's Sec-WebSocket-Accept must derive from it. */
  key: string;
  /** Request headers to send (Host is the transport's): the handshake's own, then the caller's. */
  headers: Record<string, string>;
  /** The subprotocols offered; the server may select only one of these. */
  protocols: readonly string[];
  /** The permessage-deflate offer made, or false; the server's answer must fit it. */
  perMessageDeflate: PerMessageDeflateOptions | false;
}

/** What a client offers in its opening handshake. */
export interface ClientHandshakeOptions {
  /**
   * Subprotocols to offer, in order of preference; unique tokens (RFC 6455 §4.1).
   * @default [] (no Sec-WebSocket-Protocol header)
   */
  protocols?: readonly string[];
  /**
   * Offer permessage-deflate with these options, or false not to.
   * @default false: as on the server, compression is worth its cost only for large, compressible messages.
   */
  perMessageDeflate?: PerMessageDeflateOptions | false;
  /**
   * Extra request headers (cookies, authorization). They may not set the handshake's own headers, which
   * would break the checks on the response.
   * @default {}
   */
  headers?: Record<string, string>;
  /**
   * The Sec-WebSocket-Key to send, for tests that need exact bytes.
   * @default a key from `platform.randomFill`: RFC 6455 §4.1 requires a fresh random key per connection.
   */
  key?: string;
}

/**
 * The client's opening handshake request headers (RFC 6455 §4.1).
 * @throws WebSocketError `ERR_WS_INVALID_ARGUMENT` for an invalid key, subprotocol or extra header.
 */
export function createClientHandshake(options: ClientHandshakeOptions, platform: Platform): ClientHandshake {
  const key = options.key ?? generateKey(randomBytesFrom(platform));
  if (!isValidKey(key)) {
    throw new WebSocketError(ErrorCode.invalidArgument, 'key must be the base64 encoding of 16 bytes');
  }
  const protocols = [...(options.protocols ?? [])];
  checkProtocols(protocols);
  const perMessageDeflate = options.perMessageDeflate ?? false;
  const headers: Record<string, string> = {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': WEBSOCKET_VERSION,
  };
  if (protocols.length > 0) headers['Sec-WebSocket-Protocol'] = protocols.join(', ');
  if (perMessageDeflate !== false) headers['Sec-WebSocket-Extensions'] = deflateOffer(perMessageDeflate);
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    checkHeader(name, value);
    if (CLIENT_HANDSHAKE_HEADERS.has(name.toLowerCase())) {
      throw new WebSocketError(ErrorCode.invalidArgument, `${name} is set by the handshake itself`);
    }
    headers[name] = value;
  }
  return { key, headers, protocols, perMessageDeflate };
}

/** `validateServerResponse`'s verdict: what the server agreed to, or why the connection cannot open. */
export type ClientHandshakeResult =
  | {
      /** The response is valid: the connection is open. */
      ok: true;
      /** The subprotocol the server selected, or '' for none. */
      protocol: string;
      /** The server's Sec-WebSocket-Extensions value, or '' for none. */
      extensions: string;
      /** The permessage-deflate parameters the server agreed to, or undefined for none. */
      deflate: DeflateParams | undefined;
    }
  | {
      /** The response is invalid or a refusal. */
      ok: false;
      /** Why, with `status` when the server refused. */
      error: WebSocketError;
    };

/**
 * Checks the server's answer to `handshake` (RFC 6455 §4.1, "the client MUST validate the server's
 * response"). A failure carries close code 1006, since no WebSocket connection came to exist, except a
 * failed extension negotiation, which carries 1010 (§7.4.1, and RFC 7692 §5 for permessage-deflate).
 *
 * The server selecting no subprotocol although the client offered some passes here (protocol ''): §4.1
 * only forbids a subprotocol the client did not offer; whether to go on without one is the caller's call.
 */
export function validateServerResponse(
  response: { statusCode: number; headers: HeaderMap },
  handshake: ClientHandshake,
  platform: Platform,
): ClientHandshakeResult {
  const { headers } = response;
  if (response.statusCode !== HttpStatus.switchingProtocols) {
    return { ok: false, error: handshakeRejected(response.statusCode) };
  }
  if (!listHeader(headers, Header.upgrade).some((token) => token.toLowerCase() === 'websocket')) {
    return failed(ErrorCode.handshakeInvalid, 'Upgrade header of the response is not websocket');
  }
  if (!listHeader(headers, Header.connection).some((token) => token.toLowerCase() === 'upgrade')) {
    return failed(ErrorCode.handshakeInvalid, 'Connection header of the response does not include Upgrade');
  }
  if (joinedHeader(headers, Header.accept) !== computeAccept(handshake.key, platform)) {
    return failed(ErrorCode.handshakeInvalid, 'Sec-WebSocket-Accept does not match the key');
  }

  const protocol = joinedHeader(headers, Header.protocol);
  if (protocol !== undefined && !handshake.protocols.includes(protocol)) {
    return failed(
      ErrorCode.unexpectedProtocol,
      handshake.protocols.length === 0
        ? `server selected subprotocol ${JSON.stringify(protocol)} but none was offered`
        : `server selected subprotocol ${JSON.stringify(protocol)}, which was not offered`,
    );
  }

  const extensions = headers[Header.extensions];
  let deflate: DeflateParams | undefined;
  if (extensions !== undefined) {
    try {
      for (const accepted of parseExtensions(extensions)) {
        if (accepted.name !== PERMESSAGE_DEFLATE || handshake.perMessageDeflate === false) {
          return extensionFailed(`server accepted extension ${accepted.name}, which was not offered`);
        }
        if (deflate !== undefined) return extensionFailed(`server accepted ${PERMESSAGE_DEFLATE} twice`);
        deflate = acceptDeflateResponse(accepted, handshake.perMessageDeflate);
      }
    } catch (error) {
      if (!(error instanceof WebSocketError)) throw error;
      return extensionFailed(error.message);
    }
  }
  return {
    ok: true,
    protocol: protocol ?? '',
    extensions: Array.isArray(extensions) ? extensions.join(', ') : (extensions ?? ''),
    deflate,
  };
}

function failed(code: ErrorCode, message: string): ClientHandshakeResult {
  return { ok: false, error: new WebSocketError(code, message, CloseCode.abnormal) };
}

function extensionFailed(message: string): ClientHandshakeResult {
  return { ok: false, error: new WebSocketError(ErrorCode.invalidExtension, message, CloseCode.mandatoryExtension) };
}
