/** RFC 6455 §1.3: appended to Sec-WebSocket-Key before hashing to form Sec-WebSocket-Accept. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §4.1: the only version this engine speaks; anything else gets 426 naming it. */
export const WEBSOCKET_VERSION = '13';

/** Frame opcodes (RFC 6455 §5.2, §11.8): what a frame carries. */
export const Opcode = {
  /** Carries the next fragment of a message begun by a text or binary frame without FIN. */
  continuation: 0x0,
  /** Begins a text message; its payload, once whole, must be valid UTF-8. */
  text: 0x1,
  /** Begins a binary message: bytes the protocol does not interpret. */
  binary: 0x2,
  /** The closing handshake: an optional status code and UTF-8 reason (§5.5.1). */
  close: 0x8,
  /** A liveness probe; the peer answers with a pong carrying the same payload (§5.5.2). */
  ping: 0x9,
  /** The answer to a ping, or an unsolicited heartbeat that expects no answer (§5.5.3). */
  pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Close status codes (RFC 6455 §7.4.1 and the IANA registry): why a connection ended. */
export const CloseCode = {
  /** The purpose of the connection is fulfilled. */
  normal: 1000,
  /** An endpoint is leaving: a server shutting down, a browser navigating away. */
  goingAway: 1001,
  /** The peer broke RFC 6455 (a bad frame, a bad close code); the engine sends it when a frame is refused. */
  protocolError: 1002,
  /** A message of a type the endpoint cannot accept, e.g. binary where only text is understood. */
  unsupportedData: 1003,
  /** Reserved: never sent on the wire, reported when a close frame carried no code (§7.1.5). */
  noStatus: 1005,
  /** Reserved: never sent on the wire, reported when the TCP connection ended without a close frame (§7.1.5). */
  abnormal: 1006,
  /** A message's data did not match its type, e.g. a text message that is not valid UTF-8. */
  invalidPayload: 1007,
  /** A generic refusal for a message that breaks the endpoint's policy, when no more specific code fits. */
  policyViolation: 1008,
  /** A message larger than the endpoint's limit (`maxMessageSize`). */
  messageTooBig: 1009,
  /** Sent by a client when the server did not negotiate an extension the client requires. */
  mandatoryExtension: 1010,
  /** The endpoint met an unexpected condition of its own, e.g. zlib failing to compress. */
  internalError: 1011,
  /** The server is restarting; a client may reconnect, after a delay. */
  serviceRestart: 1012,
  /** The server is overloaded or otherwise unable to serve now; reconnect later. */
  tryAgainLater: 1013,
  /** A gateway or proxy got an invalid response from the server it forwards to. */
  badGateway: 1014,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** RFC 6455 §5.5: control frames carry at most 125 bytes of payload. */
export const MAX_CONTROL_PAYLOAD = 125;

/**
 * Which end of the connection an endpoint is: a client masks every frame it sends and refuses masked frames;
 * a server does the reverse (RFC 6455 §5.1).
 */
export type Role = 'client' | 'server';

/** Ready states with the browser's numbering, so `readyState` compares the same in both worlds. */
export const ReadyState = {
  /** The opening handshake is in progress; nothing can be sent yet. */
  CONNECTING: 0,
  /** The handshake succeeded; messages flow both ways. */
  OPEN: 1,
  /** A close frame has been sent or received; the closing handshake is in progress. */
  CLOSING: 2,
  /** The connection is closed, or could not be opened. */
  CLOSED: 3,
} as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];
