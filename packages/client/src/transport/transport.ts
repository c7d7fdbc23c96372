/**
 * The SDK's only contact with a WebSocket implementation. Two implementations: `browser.ts` (the native
 * `WebSocket`, or any constructor with its shape) and `node.ts` (our RFC 6455 engine, `@switchboard/core`).
 * The package's `#transport` import picks one by export condition (`browser` / `node` / `default`), never
 * by sniffing the runtime.
 */

/** What the client asks a transport to open. */
export interface TransportOptions {
  /** `ws:` or `wss:` URL of the broker's WebSocket endpoint. */
  readonly url: string;
  /** The subprotocol to offer (`pubsub.v1`), which the server must select (protocol.md §2.1). */
  readonly protocol: string;
  /**
   * The bearer token, if any (protocol.md §2.2): Node sends `Authorization: Bearer`, browsers (which cannot
   * set headers) an extra `bearer.<token>` subprotocol entry.
   */
  readonly token: string | undefined;
  /** Extra handshake headers. Only transports that can set headers (Node) use them. */
  readonly headers: Readonly<Record<string, string>>;
  /** TLS settings for a `wss:` URL. Only the Node transport uses them; a browser trusts what the system trusts. */
  readonly tls?: TlsOptions;
}

/**
 * How a Node client checks the broker's certificate and proves its own, for `wss:` URLs (the subset of
 * `tls.connect`'s options a broker deployment needs; PEM text, or its bytes as `readFileSync` returns them).
 * Browsers ignore it: they trust the system's CAs and pick client certificates themselves.
 */
export interface TlsOptions {
  /**
   * The CAs to trust instead of Node's built-in list: a private CA, or a broker's self-signed certificate.
   * @default Node's bundled Mozilla CA list
   */
  readonly ca?: PemInput | readonly PemInput[];
  /** A client certificate (chain, leaf first), for a broker that requires one (its `TLS_CA`); with `key`. */
  readonly cert?: PemInput;
  /** The private key of `cert`. */
  readonly key?: PemInput;
  /** The passphrase of an encrypted `key`. */
  readonly passphrase?: string;
  /**
   * The name the certificate must carry (and the SNI sent), when it is not the URL's host, e.g. connecting
   * by IP address to a certificate issued for `broker.internal`.
   * @default the URL's host name (no SNI for an IP address, RFC 6066 §3)
   */
  readonly servername?: string;
  /**
   * `false` accepts any certificate: for a quick local test only, it lets anyone in the middle read and
   * change the traffic. Prefer `ca`.
   * @default true
   */
  readonly rejectUnauthorized?: boolean;
}

/** PEM text, or the bytes of a PEM file. */
export type PemInput = string | Uint8Array;

/** How a connection or an attempt ended. */
export interface TransportClose {
  /** The close code (RFC 6455 §7.1.5); 1006 when there was no close frame, including failed handshakes. */
  readonly code: number;
  /** The close frame's reason, '' when there was none. */
  readonly reason: string;
  /** Whether the closing handshake completed; false for a dropped connection or a failed handshake. */
  readonly wasClean: boolean;
  /**
   * The HTTP status when the server refused the handshake and the transport could see it (Node can,
   * browsers cannot: protocol.md §2.2).
   */
  readonly status?: number;
  /** What the underlying implementation reported, for diagnostics. */
  readonly error?: Error;
}

/**
 * Callbacks a transport calls. Contract: `open` at most once, then any number of `message` and `drain`,
 * then `close` exactly once (also when the attempt fails before `open`, or after the client called
 * {@link Transport.close}). Nothing is called synchronously from the factory.
 */
export interface TransportEvents {
  /** The handshake succeeded; `send` may be called from now on. */
  open(): void;
  /** One whole WebSocket message: text as a string, binary as bytes. */
  message(data: string | Uint8Array): void;
  /** `bufferedAmount` went down (Node's `drain`); the client writes more. */
  drain(): void;
  /** The connection ended, or never opened; called exactly once, and nothing follows it. */
  close(event: TransportClose): void;
}

/** One connection, with the browser `WebSocket`'s flow-control signal. */
export interface Transport {
  /** Bytes accepted by {@link send} and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Sends one whole message: a string as text, bytes as binary. Only between `open` and `close`. */
  send(data: string | Uint8Array): void;
  /** Starts the closing handshake; `close` follows. Harmless when already closing or closed. */
  close(code?: number, reason?: string): void;
}

/** Opens a connection; returns at once (like `new WebSocket`), the outcome arrives through `events`. */
export type TransportFactory = (options: TransportOptions, events: TransportEvents) => Transport;

/**
 * Calls `onOnline` whenever the device regains network (the browser's `online` event), so the client can
 * reconnect at once instead of waiting out its backoff. Returns a function that stops watching.
 */
export type NetworkWatcher = (onOnline: () => void) => () => void;

