// The vocabulary of the Node `WebSocket`: its options, what it sends and delivers, and what `send` answers.
// Apart from the class so its public types can be read (and documented) in one place.
import { encodeClosePayload } from '../close.js';
import type { WebSocketError } from '../errors.js';
import type { DeflateParams } from '../extensions/permessage-deflate.js';

/** How binary messages are delivered: as a `Buffer` (`nodebuffer`, the default) or an `ArrayBuffer`. */
export type BinaryType = 'nodebuffer' | 'arraybuffer';

/** A received message: a string for text, a `Buffer` or `ArrayBuffer` (see `binaryType`) for binary. */
export type MessageData = string | Buffer | ArrayBuffer;

/** What `send` takes: a string goes out as a text message, bytes (any view or buffer) as binary. */
export type SendData = string | ArrayBuffer | ArrayBufferView;

/** The outcome of `send`, after uWebSockets: every call says whether the caller should slow down. */
export type SendResult = 'sent' | 'backpressure' | 'dropped';

/** One fragment's place in its message, for `WebSocket.sendFragment`. */
export interface SendFragmentOptions {
  /** This fragment ends the message (RFC 6455 §5.4: FIN). */
  fin: boolean;
  /**
   * On a message's first fragment: whether the message is binary. Later fragments follow the first.
   * @default a string starts a text message, bytes a binary one
   */
  binary?: boolean;
  /**
   * On a message's first fragment: compress the message when permessage-deflate is active. Later
   * fragments follow the first. Unlike `send`, no threshold applies: the message's size is not known yet.
   * @default true
   */
  compress?: boolean;
}

/** A connection's flow control, timeouts and keepalive; `handleUpgrade` and `connect` take them too. */
export interface WebSocketOptions {
  /**
   * `send` reports `backpressure` once `bufferedAmount` reaches this, and `drain` fires when the buffer
   * empties again. Small enough that a priority queue in front of the socket keeps control of ordering.
   * @default 65536
   */
  highWaterMark?: number;
  /**
   * `send` drops the message (returns `dropped`) while `bufferedAmount` is above this. Unbounded by
   * default because the broker's send queues bound memory themselves.
   * @default Infinity
   */
  maxBackpressure?: number;
  /**
   * After our close frame, how long the peer has to finish the closing handshake and the TCP close
   * before the socket is destroyed, so a peer that never answers cannot hold a socket.
   * @default 5000
   */
  closeTimeout?: number;
  /**
   * Keepalive: sends a ping this often (RFC 6455 §5.5.2), and gives up on the peer when nothing at all
   * (a message, a ping, a pong, any byte) arrived from it during a whole interval, so a dead peer is found
   * within two intervals. Giving up emits `error` with `ERR_WS_KEEPALIVE_TIMEOUT` while readyState is
   * still OPEN (a handler may close with its own code instead), then ends the connection as
   * `keepaliveClose` says. 0 disables keepalive.
   * @default 0: keepalive is a policy (how soon is dead?) that the application sets, e.g. under a proxy's
   *   idle timeout.
   */
  pingInterval?: number;
  /**
   * How a keepalive timeout ends the connection. With a code: a close frame with this code and reason
   * (RFC 6455 §7.1.2), then the closing handshake, cut after `closeTimeout` as for `close()`; the peer may
   * only be slow, and learns why. Without: the socket is destroyed at once and the close reports 1006.
   * The code must be sendable (1000-1003, 1007-1014, 3000-4999) and the reason at most 123 UTF-8 bytes.
   * @default undefined (destroy: a peer that sent nothing for a whole interval is most likely gone)
   */
  keepaliveClose?:
    | {
        /** The close code sent, e.g. 1001 or an application's 4000-4999. */
        readonly code: number;
        /** The close reason sent, e.g. `keepalive timeout`. */
        readonly reason: string;
      }
    | undefined;
}

/** What the opening handshake settled for a connection, handed to the `WebSocket` when it opens. */
export interface WebSocketInfo {
  /** The URL connected to (client) or the request's URL (server). */
  url: string;
  /** The subprotocol selected, or '' when none was. */
  protocol: string;
  /** The Sec-WebSocket-Extensions value agreed, or '' when none was. */
  extensions: string;
  /** The permessage-deflate parameters agreed in the handshake (RFC 7692 §7.1), if it was negotiated. */
  deflate: DeflateParams | undefined;
}

/** What a `WebSocket` keeps of its handshake: the subprotocol and extensions agreed. */
export type Agreement = Readonly<Omit<WebSocketInfo, 'url'>>;

/** Before the handshake completes, and when it agreed nothing. */
export const NO_AGREEMENT: Agreement = Object.freeze({ protocol: '', extensions: '', deflate: undefined });

/**
 * Recent agreements, so that connections that agreed the same share one frozen object: a server's
 * connections agree one of a few, and three fields on each were 24 bytes of every idle connection. The
 * same extensions text means the same parameters, since the text is made from them. Cleared when full.
 */
const recentAgreements = new Map<string, Agreement>();
const MAX_RECENT_AGREEMENTS = 64;

export function sharedAgreement(info: Omit<WebSocketInfo, 'url'>): Agreement {
  if (info.protocol === '' && info.extensions === '') return NO_AGREEMENT;
  const key = `${info.protocol}\n${info.extensions}`;
  let agreement = recentAgreements.get(key);
  if (agreement === undefined) {
    if (recentAgreements.size >= MAX_RECENT_AGREEMENTS) recentAgreements.clear();
    agreement = Object.freeze({ protocol: info.protocol, extensions: info.extensions, deflate: info.deflate === undefined ? undefined : Object.freeze({ ...info.deflate }) });
    recentAgreements.set(key, agreement);
  }
  return agreement;
}

/** The `WebSocket`'s EventEmitter events and the arguments their listeners receive. */
export interface WebSocketEvents {
  /** The handshake completed; `send` works from now on. */
  open: [];
  /** A whole message: text as a string, binary as `binaryType` says. */
  message: [data: MessageData, isBinary: boolean];
  /** The connection ended (once): the close code and reason, and whether the closing handshake completed. */
  close: [code: number, reason: string, wasClean: boolean];
  /** A failure: a protocol violation, a keepalive timeout, a reset. `close` follows. */
  error: [error: WebSocketError];
  /** The socket's write buffer emptied (Node's `drain`): a sender held back by backpressure may go on. */
  drain: [];
  /** The peer pinged; the pong has already been sent. */
  ping: [data: Buffer];
  /** A pong arrived, the answer to `ping()` or an unsolicited heartbeat. */
  pong: [data: Buffer];
}

/** The options a `WebSocket` keeps, with their defaults applied. */
export interface ConnectionSettings {
  readonly highWaterMark: number;
  readonly maxBackpressure: number;
  readonly closeTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly keepaliveClose: { readonly code: number; readonly reason: string } | undefined;
}

const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
const DEFAULT_CLOSE_TIMEOUT = 5000;

/**
 * One settings object per options object: a server passes the same options to every connection, and five
 * fields on each `WebSocket` were 40 bytes of every idle connection where one reference is 8.
 */
const settingsByOptions = new WeakMap<WebSocketOptions, ConnectionSettings>();

export function connectionSettings(options: WebSocketOptions): ConnectionSettings {
  let settings = settingsByOptions.get(options);
  if (settings === undefined) {
    // Checked now, so a bad code fails where it is configured rather than in a timer much later.
    if (options.keepaliveClose !== undefined) encodeClosePayload(options.keepaliveClose.code, options.keepaliveClose.reason);
    settings = Object.freeze({
      highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      maxBackpressure: options.maxBackpressure ?? Infinity,
      closeTimeoutMs: options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
      pingIntervalMs: options.pingInterval ?? 0,
      // A copy: the options object may change after this, and these settings may not.
      keepaliveClose: options.keepaliveClose === undefined ? undefined : Object.freeze({ ...options.keepaliveClose }),
    });
    settingsByOptions.set(options, settings);
  }
  return settings;
}
