import { ErrorCode, WebSocketError } from '../errors.js';

/**
 * `Sec-WebSocket-Extensions` syntax (RFC 6455 §9.1), with tokens and quoted-strings from RFC 7230 §3.2.6:
 *
 *     Sec-WebSocket-Extensions = extension-list
 *     extension-list = 1#extension
 *     extension = extension-token *( ";" extension-param )
 *     extension-param = token [ "=" (token | quoted-string) ]
 *
 * RFC 6455 inherits RFC 2616's implied linear white space, so optional white space is accepted around
 * every separator, and RFC 7230 §7 lets a list carry empty elements, which are skipped.
 */

/** A parameter's value: the string after `=`, or `true` when the parameter was given bare. */
export type ExtensionParamValue = string | true;

/** One extension as a `Sec-WebSocket-Extensions` header names it, with its parameters. */
export interface ExtensionOffer {
  /** The extension token, e.g. `permessage-deflate`, as written (compared case-sensitively). */
  name: string;
  /** Each parameter's first value, in the order the parameters first appeared. */
  params: Map<string, ExtensionParamValue>;
  /**
   * Names of parameters given more than once in this offer. Kept apart rather than thrown on, because
   * RFC 7692 §5 asks a server to decline just that offer (a later offer may still be acceptable), and a
   * client to fail the connection when a response repeats one.
   */
  duplicateParams: string[];
}

/** RFC 7230 §3.2.6: `token = 1*tchar`. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/** RFC 7230 §3.2.6: `qdtext` and the octets a `quoted-pair` may escape (HTAB, SP, VCHAR, obs-text). */
const QDTEXT = /[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]/;
const QUOTED_PAIR_OCTET = /[\t \x21-\x7e\x80-\xff]/;

/**
 * Whether `value` is an HTTP token (RFC 7230 §3.2.6): one or more visible ASCII characters other than the
 * separators, the grammar of extension names, parameter names and subprotocols.
 */
export function isToken(value: string): boolean {
  return TOKEN.test(value);
}

/**
 * Parses one or more `Sec-WebSocket-Extensions` header values (a header may be repeated; each value is a
 * list, so repeated values concatenate). Offers come back in header order, which is the client's order of
 * preference (RFC 6455 §9.1). An empty array (no header) yields no offers.
 *
 * @throws WebSocketError `ERR_WS_INVALID_EXTENSION` when the syntax is malformed, including a quoted value
 *   that is not a token once unescaped (RFC 6455 §9.1) and a present header holding no extension at all.
 */
export function parseExtensions(value: string | readonly string[]): ExtensionOffer[] {
  if (typeof value !== 'string') {
    if (value.length === 0) return [];
    return parseExtensions(value.join(','));
  }
  return new ExtensionHeaderParser(value).parse();
}

/**
 * Formats one extension with its parameters, e.g. `permessage-deflate; client_max_window_bits=10`.
 *
 * @throws WebSocketError `ERR_WS_INVALID_ARGUMENT` when the name, a parameter name or a value is not a
 *   token: RFC 6455 §9.1 requires values to be tokens, so quoting could not make them legal.
 */
export function formatExtension(
  name: string,
  params: Iterable<readonly [string, ExtensionParamValue]> = [],
): string {
  requireToken(name, 'extension name');
  let formatted = name;
  for (const [param, value] of params) {
    requireToken(param, `parameter name of ${name}`);
    if (value === true) {
      formatted += `; ${param}`;
    } else {
      requireToken(value, `value of ${name}; ${param}`);
      formatted += `; ${param}=${value}`;
    }
  }
  return formatted;
}

function requireToken(value: string, what: string): void {
  if (!isToken(value)) {
    throw new WebSocketError(ErrorCode.invalidArgument, `Invalid ${what}: ${JSON.stringify(value)} is not a token`);
  }
}

/** A one-pass scanner over the header; `position` is the only state. */
class ExtensionHeaderParser {
  private readonly header: string;
  private position = 0;

  constructor(header: string) {
    this.header = header;
  }

  parse(): ExtensionOffer[] {
    const offers: ExtensionOffer[] = [];
    for (;;) {
      this.skipWhitespace();
      if (this.atEnd()) break;
      if (this.peek() === ',') {
        // RFC 7230 §7: empty list elements are legal and ignored.
        this.position++;
        continue;
      }
      offers.push(this.parseExtension());
      this.skipWhitespace();
      if (this.atEnd()) break;
      this.expect(',');
    }
    if (offers.length === 0) this.fail('no extension in the header');
    return offers;
  }

  private parseExtension(): ExtensionOffer {
    const offer: ExtensionOffer = { name: this.readToken('extension name'), params: new Map(), duplicateParams: [] };
    this.skipWhitespace();
    while (this.peek() === ';') {
      this.position++;
      this.skipWhitespace();
      const name = this.readToken('parameter name');
      this.skipWhitespace();
      let value: ExtensionParamValue = true;
      if (this.peek() === '=') {
        this.position++;
        this.skipWhitespace();
        value = this.peek() === '"' ? this.readQuotedValue() : this.readToken('parameter value');
        this.skipWhitespace();
      }
      if (offer.params.has(name)) {
        if (!offer.duplicateParams.includes(name)) offer.duplicateParams.push(name);
      } else {
        offer.params.set(name, value);
      }
    }
    return offer;
  }

  private readToken(what: string): string {
    const start = this.position;
    while (!this.atEnd() && TCHAR.test(this.header.charAt(this.position))) this.position++;
    if (this.position === start) this.fail(`expected ${what}`);
    return this.header.slice(start, this.position);
  }

  private readQuotedValue(): string {
    this.position++;
    let value = '';
    for (;;) {
      if (this.atEnd()) this.fail('unterminated quoted-string');
      const char = this.header.charAt(this.position++);
      if (char === '"') break;
      if (char === '\\') {
        const escaped = this.header.charAt(this.position++);
        if (!QUOTED_PAIR_OCTET.test(escaped)) this.fail('invalid quoted-pair');
        value += escaped;
      } else if (QDTEXT.test(char)) {
        value += char;
      } else {
        this.fail('invalid character in quoted-string', this.position - 1);
      }
    }
    // RFC 6455 §9.1: "the value after quoted-string unescaping MUST conform to the 'token' ABNF".
    if (!isToken(value)) this.fail('quoted parameter value is not a token once unescaped');
    return value;
  }

  private expect(char: string): void {
    if (this.peek() !== char) this.fail(`expected "${char}"`);
    this.position++;
  }

  /** OWS = *( SP / HTAB ), RFC 7230 §3.2.3. */
  private skipWhitespace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.position++;
  }

  private peek(): string {
    return this.header.charAt(this.position);
  }

  private atEnd(): boolean {
    return this.position >= this.header.length;
  }

  private fail(problem: string, at = this.position): never {
    throw new WebSocketError(
      ErrorCode.invalidExtension,
      `Invalid Sec-WebSocket-Extensions header: ${problem} at offset ${at}`,
    );
  }
}
