import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CloseCode, Opcode, ReadyState } from '../constants.js';
import { ErrorCode, WebSocketError } from '../errors.js';
import type { DeflateParams } from '../extensions/permessage-deflate.js';
import type { Protocol } from '../protocol.js';
import type { ProtocolEvent } from '../protocol-types.js';
import { DomStyleEmitter } from './dom-listeners.js';
import { dropClearedTimer } from './cleared-timer.js';
import { HeldWrites } from './held-writes.js';
import { KeepaliveWheel } from './keepalive-wheel.js';
import { toBuffer } from './node-platform.js';
import {
  type Agreement,
  NO_AGREEMENT,
  sharedAgreement,
  type BinaryType,
  type ConnectionSettings,
  connectionSettings,
  type MessageData,
  type SendData,
  type SendFragmentOptions,
  type SendResult,
  type WebSocketInfo,
  type WebSocketOptions,
} from './websocket-options.js';

/**
 * A WebSocket connection for Node with the browser's shape where it fits (`send`, `close`, `readyState`,
 * `protocol`, `extensions`, `bufferedAmount`, `binaryType`, `onmessage` ...) plus Node's EventEmitter
 * events. The protocol itself lives in `Protocol`; this class only moves bytes and runs timers.
 */
export class WebSocket extends DomStyleEmitter {
  /** `readyState` while the opening handshake runs (0), as `WebSocket.CONNECTING` in browsers. */
  static readonly CONNECTING = ReadyState.CONNECTING;
  /** `readyState` once the handshake succeeded (1). */
  static readonly OPEN = ReadyState.OPEN;
  /** `readyState` during the closing handshake (2). */
  static readonly CLOSING = ReadyState.CLOSING;
  /** `readyState` once the connection is closed or failed to open (3). */
  static readonly CLOSED = ReadyState.CLOSED;

  /** The URL connected to (client) or the upgrade request's URL (server). */
  url: string;
  /** The subprotocol the handshake selected; '' before it completes or when none was. */
  get protocol(): string {
    return this.agreement.protocol;
  }
  /** The Sec-WebSocket-Extensions value agreed in the handshake; '' when none was. */
  get extensions(): string {
    return this.agreement.extensions;
  }
  /**
   * The permessage-deflate agreement of this connection (RFC 7692 §7.1), or undefined when the handshake
   * negotiated none: what `extensions` says, parsed, so a server can share compressed frames between the
   * connections that agreed the same parameters.
   */
  get deflate(): DeflateParams | undefined {
    return this.agreement.deflate;
  }
  /** How binary messages are handed out; may be changed at any time, and applies from the next message. */
  binaryType: BinaryType = 'nodebuffer';
  /** Where the connection is, numbered as in browsers: see `ReadyState`. */
  readyState: ReadyState = ReadyState.CONNECTING;


  private readonly settings: ConnectionSettings;
  /** What the handshake agreed, shared with the connections that agreed the same. */
  private agreement: Agreement = NO_AGREEMENT;
  private socket: Duplex | undefined;
  private protocolState: Protocol | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  /** @internal Where the keepalive wheel holds this connection, or -1 (`WheelMember`). */
  keepalivePlace = -1;
  private receivedSinceLastPing = true;
  /** Writes held until the loop's check phase (`sendFrames`), while there are any. */
  private held: HeldWrites | undefined;
  private closeEmitted = false;
  private pendingError: WebSocketError | undefined;

  constructor(url: string, options: WebSocketOptions = {}) {
    super();
    // EventEmitter's listener table is a null-prototype object, which V8 keeps as a dictionary: ~250 bytes
    // for the four listeners of an idle broker connection. One made by a constructor whose prototype has
    // no properties is as empty of inherited names, and has fast properties (~60 bytes).
    (this as unknown as { _events: object })._events = new ListenerTable();
    this.url = url;
    this.settings = connectionSettings(options);
  }

  /**
   * Bytes accepted by `send` and not yet handed to the kernel: what Node's stream still holds for the
   * socket, which includes every frame this class wrote.
   */
  get bufferedAmount(): number {
    return (this.socket?.writableLength ?? 0) + (this.held?.bytes ?? 0);
  }

  /** Sends a whole message: strings as text, bytes as binary. */
  send(data: SendData, options?: { compress?: boolean }): SendResult {
    const protocol = this.requireOpen();
    if (this.bufferedAmount > this.settings.maxBackpressure) return 'dropped';
    if (typeof data === 'string') {
      protocol.sendText(data, options);
    } else {
      protocol.sendBinary(toBytes(data), options);
    }
    return this.flush();
  }

  /**
   * Sends one fragment of a message (RFC 6455 §5.4), in either role: call it for each part in order, with
   * `fin: true` on the last; the peer receives the message whole once that arrives. The first fragment
   * sets the message's type (`binary`, by default from its data). Strings go out as UTF-8, bytes as they
   * are: the fragments of a text message may split a character, since the peer checks UTF-8 over the
   * whole message. Pings (`ping()`, keepalive) and the pongs we answer with may go out between fragments;
   * `send` and `sendFrames` throw ERR_WS_INVALID_ARGUMENT until this message is finished (§5.4: messages
   * are not interleaved).
   * With permessage-deflate, only the first frame has RSV1 (RFC 7692 §6.1).
   *
   * Backpressure as for `send`, per fragment: 'dropped' means this fragment was not sent (the message is
   * as it was: not started, or still open for this fragment to be sent again), and every fragment that
   * is sent counts in `bufferedAmount`.
   */
  sendFragment(data: SendData, options: SendFragmentOptions): SendResult {
    const protocol = this.requireOpen();
    if (this.bufferedAmount > this.settings.maxBackpressure) return 'dropped';
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : toBytes(data);
    const binary = options.binary ?? typeof data !== 'string';
    const opcode = protocol.fragmentedMessageOpcode === 0 ? (binary ? Opcode.binary : Opcode.text) : Opcode.continuation;
    protocol.sendFragment(opcode, payload, options.fin, options);
    return this.flush();
  }

  /**
   * Writes frames encoded once by `encodeMessage` (server role); the broker's fan-out path. Frames sent in
   * the same event-loop iteration leave together: the socket stays corked until the check phase that
   * follows the poll phase, as uWebSockets corks per loop iteration. When several publishers' sockets were
   * readable in one poll, a subscriber then gets one `writev` for all their deliveries rather than one per
   * publisher read; at low load the poll held one read, so the write leaves right after it either way.
   */
  sendFrames(frames: readonly Uint8Array[]): SendResult {
    const protocol = this.requireOpen();
    if (this.bufferedAmount > this.settings.maxBackpressure) return 'dropped';
    this.holdUntilLoopCheck();
    protocol.sendFrames(frames);
    const result = this.flush();
    // Full: these bytes leave now, not at the check phase, since an overloaded poll phase (libuv reads up
    // to 32 chunks per readable socket) would otherwise pile deliveries up behind it without bound.
    if (result === 'backpressure') this.releaseHeld();
    return result;
  }

  /**
   * Runs `write` with this connection's writes held, so every frame it sends leaves together when it
   * returns (small ones joined into one buffer): a broker writing a burst of deliveries to one subscriber
   * pays one system call instead of one per frame. Inside a loop iteration that already holds (`sendFrames`),
   * they leave with the rest at its check phase.
   */
  corked(write: () => void): void {
    if (this.socket === undefined || this.held !== undefined) return write();
    this.held = new HeldWrites();
    try {
      write();
    } finally {
      this.releaseHeld();
    }
  }

  private holdUntilLoopCheck(): void {
    if (this.held !== undefined || this.socket === undefined) return;
    this.held = new HeldWrites();
    if (heldThisTick.push(this) === 1) setImmediate(WebSocket.releaseTick);
  }

  /** Writes what this connection holds, if anything, and stops holding. */
  private releaseHeld(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    if (this.socket?.writable === true) held.writeTo(this.socket);
  }

  /**
   * Writes what every connection held in the loop iteration that ended, in the order they began holding:
   * one `setImmediate` per iteration for a whole fan-out, where a closure and a `nextTick` per subscriber
   * were about a quarter of the JavaScript of each delivery's write.
   */
  private static releaseTick(): void {
    let index = 0;
    try {
      // One that began holding during this round (a write callback sending again) is taken in it too.
      for (; index < heldThisTick.length; index++) heldThisTick[index]!.releaseHeld();
    } finally {
      if (index + 1 < heldThisTick.length) {
        // One threw: the rest are not left holding.
        heldThisTick.splice(0, index + 1);
        setImmediate(WebSocket.releaseTick);
      } else {
        heldThisTick.length = 0;
      }
    }
  }

  /**
   * Sends a ping (RFC 6455 §5.5.2) with up to 125 bytes of `data`; the peer's pong comes as the `pong` event.
   * @throws WebSocketError `ERR_WS_NOT_OPEN` when the connection is not open.
   */
  ping(data?: Uint8Array): void {
    this.requireOpen().sendPing(data);
    this.flush();
  }

  /** Starts the closing handshake; the `close` event follows when the TCP connection has ended. */
  close(code?: number, reason?: string): void {
    if (this.readyState === ReadyState.CLOSED || this.readyState === ReadyState.CLOSING) return;
    if (this.readyState === ReadyState.CONNECTING || this.protocolState === undefined) {
      this.abort(new WebSocketError(ErrorCode.connectionReset, 'closed before the connection was established'));
      return;
    }
    this.protocolState.sendClose(code, reason);
    this.readyState = ReadyState.CLOSING;
    this.flush();
    this.armCloseTimer();
  }

  /** Destroys the socket at once, without a closing handshake. */
  terminate(): void {
    if (this.socket === undefined) {
      this.abort(new WebSocketError(ErrorCode.connectionReset, 'terminated before the connection was established'));
      return;
    }
    this.socket.destroy();
  }

  /**
   * @internal Hands the upgraded socket and its protocol to this object; called by `handleUpgrade` and
   * `connect` once the handshake succeeded. The server passes its 101 `response`, written first.
   */
  attach(socket: Duplex, protocol: Protocol, head: Buffer, info: Omit<WebSocketInfo, 'url'>, response?: string): void {
    this.socket = socket;
    this.protocolState = protocol;
    this.agreement = sharedAgreement(info);
    this.readyState = ReadyState.OPEN;
    if (socket instanceof Socket) {
      // Frames are whole messages already; Nagle's delay would only add latency.
      socket.setNoDelay(true);
      // The HTTP server's idle timeout no longer applies; keepalive pings take over.
      socket.setTimeout(0);
      dropClearedTimer(socket);
    }
    // The listeners are shared by every connection and find theirs on the socket, as ws does: five closures
    // per connection were about 300 bytes of each idle connection's heap (docs/benchmarks.md).
    (socket as OwnedSocket)[owner] = this;
    // The peer's FIN is answered with ours by the stream itself (Duplex ends its writable side after 'end'
    // when half-open is off), rather than by an 'end' listener of ours beside Node's own: two listeners of
    // one event are an array, 64 bytes of every idle connection. `finalize` reads the EOF on 'close'.
    socket.allowHalfOpen = false;
    socket.on('data', WebSocket.socketData);
    socket.on('close', WebSocket.socketClose);
    socket.on('error', socketError);
    socket.on('drain', WebSocket.socketDrain);
    if (response !== undefined) {
      // Held with what the server sends in this loop iteration (a greeting, as the broker's welcome): one
      // write for both instead of two, each of which on loopback costs as much as the rest of an accept.
      this.holdUntilLoopCheck();
      this.held!.add([Buffer.from(response)]);
    }
    this.emitOpen();
    if (head.length > 0) this.receive(head);
    this.startKeepalive();
  }

  private static socketData(this: Duplex, chunk: Buffer): void {
    (this as OwnedSocket)[owner].receive(chunk);
  }

  private static socketClose(this: Duplex): void {
    (this as OwnedSocket)[owner].finalize();
  }

  private static socketDrain(this: Duplex): void {
    (this as OwnedSocket)[owner].emit('drain');
  }

  /** @internal Fails a connection that never opened (handshake refused, DNS, refused TCP). */
  abort(error: WebSocketError): void {
    if (this.closeEmitted) return;
    this.pendingError = error;
    this.readyState = ReadyState.CLOSED;
    this.emitError(error);
    this.emitClose(CloseCode.abnormal, '', false);
  }

  private receive(chunk: Buffer): void {
    const protocol = this.protocolState!;
    this.receivedSinceLastPing = true;
    protocol.receiveData(chunk);
    // A failure comes in a batch of its own after the events before it (Protocol.eventsReceived): what
    // a message handler sends in answer to them is written before the close frame.
    for (let events = protocol.eventsReceived(); events.length > 0; events = protocol.eventsReceived()) {
      this.dispatch(events);
      if (this.readyState === ReadyState.CLOSED) break;
    }
    this.flush();
  }

  private dispatch(events: ProtocolEvent[]): void {
    // The protocol reads a whole chunk before any event is emitted, so it may already have answered a
    // close frame behind the messages of this batch (a failure waits for the next batch). They are still
    // delivered, but nothing can be sent after our close frame (RFC 6455 §5.5.1): readyState must say so
    // before a message handler runs, or a handler that checks it would call send and throw.
    if (this.readyState === ReadyState.OPEN && this.protocolState!.closeSent) this.readyState = ReadyState.CLOSING;
    for (const event of events) {
      switch (event.type) {
        case 'text':
          this.emitMessage(event.data, false);
          break;
        case 'binary':
          // The protocol runs on nodePlatform, so its bytes are Buffers already; toBuffer only checks.
          this.emitMessage(this.binaryType === 'arraybuffer' ? toArrayBuffer(event.data) : toBuffer(event.data), true);
          break;
        case 'ping':
          this.emit('ping', toBuffer(event.data));
          break;
        case 'pong':
          this.emit('pong', toBuffer(event.data));
          break;
        case 'close':
          this.readyState = ReadyState.CLOSING;
          this.armCloseTimer();
          break;
        case 'error':
          this.pendingError = event.error;
          this.readyState = ReadyState.CLOSING;
          this.emitError(event.error);
          break;
      }
      // A handler may have closed or terminated the connection; later events are moot.
      if (this.readyState === ReadyState.CLOSED) return;
    }
  }

  private flush(): SendResult {
    const protocol = this.protocolState!;
    const socket = this.socket!;
    if (protocol.hasDataToSend && socket.writable) {
      const data = protocol.dataToSend();
      if (this.held !== undefined) {
        // Behind what is held, so that frames leave in the order they were sent.
        this.held.add(data);
      } else if (data.length === 1) {
        socket.write(data[0]!);
      } else {
        socket.cork();
        for (const buffer of data) socket.write(buffer);
        socket.uncork();
      }
    }
    if (protocol.transportShouldClose && socket.writable) {
      this.releaseHeld();
      socket.end();
      this.armCloseTimer();
    }
    return this.bufferedAmount >= this.settings.highWaterMark ? 'backpressure' : 'sent';
  }

  private armCloseTimer(): void {
    if (this.closeTimer !== undefined) return;
    this.closeTimer = setTimeout(() => this.socket?.destroy(), this.settings.closeTimeoutMs);
    this.closeTimer.unref();
  }

  private startKeepalive(): void {
    if (this.settings.pingIntervalMs <= 0) return;
    keepaliveWheelFor(this.settings.pingIntervalMs).add(this);
  }

  private stopKeepalive(): void {
    if (this.keepalivePlace < 0) return;
    keepaliveWheelFor(this.settings.pingIntervalMs).remove(this);
  }

  /** @internal Once per ping interval (the keepalive wheel): pings, or fails a peer silent since the last ping. */
  static keepaliveTick(websocket: WebSocket): void {
    if (websocket.readyState !== ReadyState.OPEN) return;
    if (!websocket.receivedSinceLastPing) return websocket.keepaliveTimedOut();
    websocket.receivedSinceLastPing = false;
    websocket.protocolState!.sendPing();
    websocket.flush();
  }

  private keepaliveTimedOut(): void {
    const close = this.settings.keepaliveClose;
    const error = new WebSocketError(
      ErrorCode.keepaliveTimeout,
      'no data from the peer within the ping interval',
      close?.code ?? CloseCode.abnormal,
    );
    this.pendingError = error;
    this.emitError(error);
    if (close === undefined) this.socket?.destroy();
    else this.close(close.code, close.reason);
  }

  private finalize(): void {
    clearTimeout(this.closeTimer);
    this.stopKeepalive();
    const protocol = this.protocolState!;
    protocol.receiveEof();
    this.readyState = ReadyState.CLOSED;
    const wasClean = protocol.closeSent && protocol.closeReceived && protocol.failure === undefined;
    this.emitClose(protocol.closeCode, protocol.closeReason, wasClean);
  }

  private requireOpen(): Protocol {
    if (this.readyState !== ReadyState.OPEN || this.protocolState === undefined) {
      throw new WebSocketError(ErrorCode.notOpen, `cannot send: the connection is ${stateName(this.readyState)}`);
    }
    return this.protocolState;
  }

  private emitOpen(): void {
    this.handlers?.onopen?.({ type: 'open' });
    this.emit('open');
  }

  private emitMessage(data: MessageData, isBinary: boolean): void {
    this.handlers?.onmessage?.({ type: 'message', data });
    this.emit('message', data, isBinary);
  }

  private emitError(error: WebSocketError): void {
    this.handlers?.onerror?.({ type: 'error', error });
    // Without a listener an 'error' would throw: one misbehaving peer must not crash a server process.
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private emitClose(code: number, reason: string, wasClean: boolean): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.handlers?.onclose?.({ type: 'close', code, reason, wasClean });
    this.emit('close', code, reason, wasClean);
  }

  /** The error that ended the connection, if one did. */
  get error(): WebSocketError | undefined {
    return this.pendingError;
  }
}

/** EventEmitter's `_events` for a WebSocket: see the constructor. */
const ListenerTable = function ListenerTable() {} as unknown as new () => object;
ListenerTable.prototype = Object.create(null) as object;

/** One keepalive wheel per ping interval in use. */
const keepaliveWheels = new Map<number, KeepaliveWheel<WebSocket>>();

function keepaliveWheelFor(intervalMs: number): KeepaliveWheel<WebSocket> {
  let wheel = keepaliveWheels.get(intervalMs);
  if (wheel === undefined) keepaliveWheels.set(intervalMs, (wheel = new KeepaliveWheel(intervalMs, WebSocket.keepaliveTick)));
  return wheel;
}

/** Where a socket's shared listeners find the connection that owns it. */
const owner = Symbol('websocket');

/** Connections holding writes until the loop's check phase (`holdUntilLoopCheck`), in the order they began. */
const heldThisTick: WebSocket[] = [];

type OwnedSocket = Duplex & { [owner]: WebSocket };

/** The 'close' that follows reports the error; a reset peer is routine for a server, not a crash. */
function socketError(): void {}

function toBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

function toArrayBuffer(data: Uint8Array): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

function stateName(state: ReadyState): string {
  return state === ReadyState.CONNECTING ? 'connecting' : state === ReadyState.CLOSING ? 'closing' : 'closed';
}
