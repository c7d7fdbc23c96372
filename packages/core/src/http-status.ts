/** HTTP statuses the handshake answers with (RFC 6455 §4.2.2, RFC 7231 §6). */
export const HttpStatus = {
  /** The handshake succeeded: the connection speaks WebSocket from the next byte on. */
  switchingProtocols: 101,
  /** The upgrade request was malformed: a missing or invalid header, a bad key. */
  badRequest: 400,
  /** The request's Origin is not allowed. */
  forbidden: 403,
  /** The upgrade request did not use GET. */
  methodNotAllowed: 405,
  /** The request asked for a WebSocket version other than 13; the answer names the one spoken. */
  upgradeRequired: 426,
} as const;
export type HttpStatus = (typeof HttpStatus)[keyof typeof HttpStatus];

/**
 * Reason phrases for the status line (RFC 7231 §6.1 and the IANA registry), the ones Node's
 * `http.STATUS_CODES` has, so a response reads the same as one from Node's own HTTP server.
 */
const REASON_PHRASES: Readonly<Record<number, string>> = {
  101: 'Switching Protocols',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  305: 'Use Proxy',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  418: "I'm a Teapot",
  421: 'Misdirected Request',
  422: 'Unprocessable Entity',
  423: 'Locked',
  424: 'Failed Dependency',
  425: 'Too Early',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  506: 'Variant Also Negotiates',
  507: 'Insufficient Storage',
  508: 'Loop Detected',
  509: 'Bandwidth Limit Exceeded',
  510: 'Not Extended',
  511: 'Network Authentication Required',
};

/** The status line's reason phrase; `Unknown` for a status without a registered one. */
export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? 'Unknown';
}
