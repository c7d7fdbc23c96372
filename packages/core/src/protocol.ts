// The connection state machine. Receiving, failing and sending share one state (the closing handshake's
// closeSent / closeReceived / failure, a failure waiting behind events, the message being sent in fragments)
// that RFC 6455 §5.4, §5.5.1 and §7.1.7 tie together, so they stay in one class; its vocabulary is in
// protocol-types.ts, whole-message framing for fan-out in message-encoder.ts, the parser and codecs apart.
import { concatBytes } from './bytes.js';
import { CloseCode, Opcode, type Role } from './constants.js';
import { encodeClosePayload, isSendableCloseCode, parseClosePayload } from './close.js';
import { ErrorCode, WebSocketError, protocolError } from './errors.js';
import { encodeFrame, type Frame } from './frame.js';
import { FragmentedMessage } from './fragmented-message.js';
import { FrameParser, sharedParserOptions } from './frame-parser.js';
import { nextPooledMask } from './mask.js';
import type { Platform } from './platform.js';
import type { MessageCompressor, ProtocolEvent, ProtocolOptions, ProtocolState, SendOptions } from './protocol-types.js';
import { completeLength, isPossiblePrefix } from './utf8.js';

const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/**
 * The WebSocket protocol after the handshake, with no I/O (the sans-I/O shape of python-websockets):
 * bytes go in through `receiveData` / `receiveEof`, and `eventsReceived()` and `dataToSend()` say what
 * happened and what to write. The adapter owns the socket and timers, and ends the transport when
 * `transportShouldClose` turns true.
 */
export class Protocol {
  /** Where the connection is; `transportShouldClose` says when to end the transport. */
  state: ProtocolState = 'open';
  /** The code and reason the peer sent, ours when we failed the connection, else 1006 (RFC 6455 §7.1.5). */
  closeCode: number = CloseCode.abnormal;
  /** The reason that goes with `closeCode`; '' when there was none. */
  closeReason = '';
  /** True once we sent a close frame. */
  closeSent = false;
  /** True once the peer's close frame arrived. */
  closeReceived = false;
  /** The failure that ended the connection, when it ended that way. */
  failure: WebSocketError | undefined;
  /**
   * The adapter should end the TCP connection once it has written `dataToSend()`. RFC 6455 §7.1.1: the
   * server closes first after the close handshake; a client waits for that, unless the connection failed.
   */
  transportShouldClose = false;

  private readonly parser: FrameParser;
  private readonly compressor: MessageCompressor | undefined;
  private readonly generateMask: (() => Uint8Array) | undefined;
  // Both are the shared empty `nothing` while empty, and get an array of their own for their first item: two
  // empty arrays were ~64 bytes of every idle connection.
  private events: ProtocolEvent[] = nothing;
  private output: Uint8Array[] = nothing;

  /** The message being assembled from fragments (RFC 6455 §5.4), while there is one. */
  private message: FragmentedMessage | undefined;
  // UTF-8 fail-fast inside a frame (RFC 6455 §8.1): how many payload bytes of the frame in progress were
  // checked, the unfinished code point they end with, and the one the text message's fragments so far end
  // with (where a continuation frame's check starts).
  private partialChecked = 0;
  private partialTail: Uint8Array | undefined;
  // The message we send with `sendFragment`, between its first and its last frame.
  private sendingOpcode = 0;
  private sendingCompressed = false;
  /**
   * A violation the peer committed after events the application has not taken yet. It is reached (the
   * connection fails) only once they were taken and it had its chance to answer them: see `eventsReceived`.
   */
  private pendingFailure: WebSocketError | undefined;

  constructor(options: ProtocolOptions) {
    this.compressor = options.compressor;
    this.generateMask = options.generateMask;
    const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.parser = new FrameParser(sharedParserOptions(options.role, this.compressor !== undefined, maxMessageSize, options.platform));
  }

  /** Our side of the connection, from the options. */
  get role(): Role {
    return this.parser.settings.role;
  }

  // Role, size limit and platform are read from the parser's options, which connections of one kind share:
  // three fields fewer on every connection.
  private get maxMessageSize(): number {
    return this.parser.settings.maxPayloadLength;
  }

  private get platform(): Platform {
    return this.parser.settings.platform;
  }

  // ---- input --------------------------------------------------------------------------------------

  /**
   * Feeds bytes from the transport. The protocol takes `chunk` over: masked payloads are unmasked in place
   * and delivered messages may be views of it, so the caller must not reuse it.
   */
  receiveData(chunk: Uint8Array): void {
    // Nothing after a violation is read; an adapter that feeds more data has moved on from the events
    // before it, so the connection fails now.
    if (this.pendingFailure !== undefined) return this.reachPendingFailure();
    // §5.5.1: nothing follows a close frame; after a failure or EOF nothing more is read either.
    if (this.closeReceived || this.failure !== undefined || this.state === 'closed') return;
    this.parser.push(chunk);
    for (;;) {
      const frame = this.parser.read();
      if (frame === undefined) break;
      this.partialChecked = 0;
      this.partialTail = undefined;
      this.receiveFrame(frame);
      if (this.closeReceived || this.failure !== undefined || this.pendingFailure !== undefined) return;
    }
    if (this.parser.error !== undefined) this.peerFailed(this.parser.error);
    else if (this.parser.payloadOpcode >= 0) this.checkTextInProgress();
  }

  /**
   * Checks the part of a text frame that has arrived, so invalid UTF-8 fails the connection at once rather
   * than after the rest of a possibly large frame (Autobahn's "fail fast" cases). Compressed messages are
   * checked per fragment after inflating, in `appendFragment`.
   */
  private checkTextInProgress(): void {
    const opcode = this.parser.payloadOpcode;
    const message = this.message;
    const isText =
      (opcode === Opcode.text && !this.parser.frameRsv1 && message === undefined) ||
      (opcode === Opcode.continuation && message !== undefined && message.isText && !message.compressed);
    const received = this.parser.payloadReceived;
    if (!isText || received <= this.partialChecked) return;
    const carried = this.partialChecked === 0 ? (opcode === Opcode.continuation ? message?.tail : undefined) : this.partialTail;
    const fresh = this.parser.peekPayload(this.partialChecked, received);
    const bytes = carried === undefined ? fresh : concatBytes([carried, fresh], carried.length + fresh.length, this.platform);
    const complete = completeLength(bytes);
    const tail = bytes.subarray(complete);
    if (!this.platform.isUtf8(bytes.subarray(0, complete)) || !isPossiblePrefix(tail)) return this.peerFailed(invalidUtf8());
    this.partialChecked = received;
    this.partialTail = tail.length > 0 ? tail : undefined;
  }

  /** The peer ended the TCP connection. Without a close handshake that is an abnormal closure (1006). */
  receiveEof(): void {
    this.reachPendingFailure();
    // Our side of the transport ends too, whatever the state: a client that completed the closing
    // handshake was waiting for exactly this (§7.1.1).
    this.transportShouldClose = true;
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (!this.closeReceived && this.failure === undefined) this.closeCode = CloseCode.abnormal;
  }

  /**
   * Events since the last call, oldest first. A batch stops before a failure: when the peer broke the
   * protocol after frames whose events the application has not taken yet (a message and a reserved opcode
   * in one read, say), those events come first and the failure (its `error` event, and its close frame in
   * `dataToSend`) only in the next call. Whatever the application sends in answer to them in between goes
   * out before the close frame, as an endpoint that read the frames one by one would have done (Autobahn
   * calls the other order "non-strict"). So an adapter calls this until it returns no events, letting the
   * application act on each batch; `receiveData` and `receiveEof` also reach a failure still waiting.
   */
  eventsReceived(): ProtocolEvent[] {
    if (this.events.length === 0) this.reachPendingFailure();
    const events = this.events;
    this.events = nothing;
    return events;
  }

  /** Bytes to write since the last call, in order. */
  dataToSend(): Uint8Array[] {
    const output = this.output;
    this.output = nothing;
    return output;
  }

  /** Whether `dataToSend()` has anything, without taking it. */
  get hasDataToSend(): boolean {
    return this.output.length > 0;
  }

  // ---- output -------------------------------------------------------------------------------------

  /** Queues a text message, compressed when the options and the threshold say so; throws once closing. */
  sendText(text: string, options?: SendOptions): void {
    this.sendMessage(Opcode.text, this.platform.encodeUtf8(text), options);
  }

  /** Queues a binary message, as `sendText` does; `data` must not change until it is written. */
  sendBinary(data: Uint8Array, options?: SendOptions): void {
    this.sendMessage(Opcode.binary, data, options);
  }

  /**
   * Sends one frame of a message the caller fragments itself: the first with `opcode` text or binary,
   * the rest with `continuation`, the last with `fin` (RFC 6455 §5.4). Control frames (`sendPing`,
   * `sendPong`, the pongs the protocol answers with, `sendClose`) may go out between fragments; another
   * message may not until this one is finished. Text fragments need not end on a character boundary: the
   * peer checks UTF-8 over the whole message. With permessage-deflate the message is compressed unless
   * the first fragment's `options.compress` is false, and only its first frame has RSV1 (RFC 7692 §6.1).
   */
  sendFragment(opcode: number, payload: Uint8Array, fin: boolean, options?: SendOptions): void {
    this.assertCanSend();
    if (opcode === Opcode.continuation) {
      if (this.sendingOpcode === 0) throw invalidArgument('a continuation needs a message started with sendFragment');
    } else if (opcode === Opcode.text || opcode === Opcode.binary) {
      // §5.4: fragments of one message may not be interleaved with another message.
      if (this.sendingOpcode !== 0) throw invalidArgument('the previous fragmented message is not finished');
      this.sendingCompressed = this.compressor !== undefined && options?.compress !== false;
    } else {
      throw invalidArgument(`sendFragment takes text, binary or continuation, not opcode 0x${opcode.toString(16)}`);
    }
    const compressed = this.sendingCompressed;
    const data = compressed ? this.compressor!.compressFragment(payload, fin) : payload;
    this.pushFrame(fin, compressed && opcode !== Opcode.continuation, opcode, data);
    this.sendingOpcode = fin ? 0 : opcode === Opcode.continuation ? this.sendingOpcode : opcode;
  }

  /** The opcode (text or binary) of the message being sent with `sendFragment` until its last fragment, else 0. */
  get fragmentedMessageOpcode(): number {
    return this.sendingOpcode;
  }

  /** Queues a ping with at most 125 bytes of `data` (RFC 6455 §5.5.2); it may go out between fragments. */
  sendPing(data: Uint8Array = EMPTY): void {
    this.assertCanSend();
    this.pushFrame(true, false, Opcode.ping, checkControlPayload(data));
  }

  /** Queues an unsolicited pong, a one-way heartbeat; pings are answered by the protocol itself. */
  sendPong(data: Uint8Array = EMPTY): void {
    this.assertCanSend();
    this.pushFrame(true, false, Opcode.pong, checkControlPayload(data));
  }

  /**
   * Writes bytes already framed by `encodeMessage` for this role. The broker encodes a delivery once and
   * hands the same buffers to every subscriber; only the server role can share frames (clients mask each
   * frame with a fresh key).
   */
  sendFrames(frames: readonly Uint8Array[]): void {
    this.assertCanSend();
    if (this.role === 'client') throw invalidArgument('sendFrames is for the server role; client frames are masked one by one');
    this.assertNotFragmenting();
    for (const frame of frames) this.pushOutput(frame);
  }

  /** Starts the closing handshake (RFC 6455 §7.1.2); a second call is ignored. */
  sendClose(code?: number, reason = ''): void {
    if (this.closeSent || this.failure !== undefined || this.state === 'closed') return;
    const body = encodeClosePayload(code, reason);
    this.pushFrame(true, false, Opcode.close, body);
    this.closeSent = true;
    if (this.closeReceived) this.finishClosingHandshake();
    else this.state = 'closing';
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): sends a close frame with the error's code if none was sent,
   * and asks the adapter to end the transport. A code that may not be sent (1006 for a dead peer, say) is
   * recorded but sends no close frame. An error without a close code counts as 1002.
   */
  fail(error: WebSocketError): void {
    if (this.failure !== undefined || this.state === 'closed') return;
    this.pendingFailure = undefined;
    this.failure = error;
    const code = error.closeCode ?? CloseCode.protocolError;
    if (!this.closeSent && isSendableCloseCode(code)) {
      this.pushFrame(true, false, Opcode.close, encodeClosePayload(code, ''));
      this.closeSent = true;
    }
    if (!this.closeReceived) {
      this.closeCode = code;
      this.closeReason = error.message.length <= 123 ? error.message : '';
    }
    this.state = 'closing';
    this.transportShouldClose = true;
    this.resetMessage();
    this.pushEvent({ type: 'error', error });
  }

  // ---- frames in ----------------------------------------------------------------------------------

  /**
   * The peer broke the protocol (RFC 6455 §7.1.7). With no events waiting the connection fails at once;
   * otherwise parsing stops here and the failure waits for the events before it to be taken
   * (`eventsReceived`), so the application's answer to them precedes the close frame.
   */
  private peerFailed(error: WebSocketError): void {
    if (this.events.length === 0) return this.fail(error);
    this.pendingFailure = error;
  }

  private reachPendingFailure(): void {
    const error = this.pendingFailure;
    if (error === undefined) return;
    this.pendingFailure = undefined;
    this.fail(error);
  }

  private receiveFrame(frame: Frame): void {
    switch (frame.opcode) {
      case Opcode.text:
      case Opcode.binary:
        return this.receiveDataFrame(frame);
      case Opcode.continuation:
        return this.receiveContinuation(frame);
      case Opcode.ping:
        // §5.5.2: answer with a pong carrying the same payload, unless we already sent a close frame.
        this.pushEvent({ type: 'ping', data: frame.payload });
        if (!this.closeSent) this.pushFrame(true, false, Opcode.pong, frame.payload);
        return;
      case Opcode.pong:
        this.pushEvent({ type: 'pong', data: frame.payload });
        return;
      case Opcode.close:
        return this.receiveClose(frame);
    }
  }

  private receiveDataFrame(frame: Frame): void {
    if (this.message !== undefined) {
      return this.peerFailed(protocolError(ErrorCode.expectedContinuation, 'new data frame inside a fragmented message'));
    }
    // Data keeps being delivered after we sent a close frame: the peer may have been mid-message when it
    // arrived (§7.1.2 only stops us sending). Dropping it here would also lose track of fragmentation.
    if (frame.fin && !frame.rsv1) {
      // The common case, one uncompressed frame: no assembly, no copy.
      return this.deliver(frame.opcode, frame.payload);
    }
    this.message = new FragmentedMessage(frame.opcode, frame.rsv1, this.platform);
    this.appendFragment(this.message, frame);
  }

  private receiveContinuation(frame: Frame): void {
    if (this.message === undefined) {
      return this.peerFailed(protocolError(ErrorCode.unexpectedContinuation, 'continuation frame without a message to continue'));
    }
    this.appendFragment(this.message, frame);
  }

  private appendFragment(message: FragmentedMessage, frame: Frame): void {
    let data = frame.payload;
    if (message.compressed) {
      try {
        data = this.compressor!.decompress(data, frame.fin);
      } catch (error) {
        return this.peerFailed(asWebSocketError(error));
      }
    }
    if (message.bytes + data.length > this.maxMessageSize) {
      return this.peerFailed(new WebSocketError(ErrorCode.messageTooBig, 'message exceeds the maximum size', CloseCode.messageTooBig));
    }
    if (!message.append(data, frame.fin)) return this.peerFailed(invalidUtf8());
    // Uncompressed, the next fragment may carry only what is left of the limit; the parser then fails it
    // at its header instead of buffering it. A compressed fragment's size says little about its inflated
    // size, so that check stays after decompression, above.
    if (!message.compressed) this.parser.continuationLimit = this.maxMessageSize - message.bytes;
    if (!frame.fin) return;
    this.pushEvent(message.isText ? { type: 'text', data: message.text() } : { type: 'binary', data: message.binary() });
    this.resetMessage();
  }

  private deliver(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.binary) {
      this.pushEvent({ type: 'binary', data: payload });
    } else if (this.platform.isUtf8(payload)) {
      this.pushEvent({ type: 'text', data: this.platform.decodeUtf8(payload) });
    } else {
      this.peerFailed(invalidUtf8());
    }
  }

  private receiveClose(frame: Frame): void {
    const parsed = parseClosePayload(frame.payload);
    if (parsed instanceof WebSocketError) return this.peerFailed(parsed);
    this.closeReceived = true;
    this.closeCode = parsed.code;
    this.closeReason = parsed.reason;
    this.resetMessage();
    this.pushEvent({ type: 'close', code: parsed.code, reason: parsed.reason });
    if (this.closeSent) {
      this.finishClosingHandshake();
      return;
    }
    // §5.5.1: "the endpoint MUST send a Close frame in response ... typically echoing the status code
    // it received". A close without a code (1005) is echoed without one.
    const echo = parsed.code === CloseCode.noStatus ? undefined : parsed.code;
    this.pushFrame(true, false, Opcode.close, encodeClosePayload(echo, ''));
    this.closeSent = true;
    this.finishClosingHandshake();
  }

  private finishClosingHandshake(): void {
    this.state = 'closed';
    // §7.1.1: "the server MUST close the underlying TCP connection immediately"; the client waits for it.
    if (this.role === 'server') this.transportShouldClose = true;
  }

  private resetMessage(): void {
    this.parser.continuationLimit = this.maxMessageSize;
    this.message = undefined;
  }

  // ---- frames out ---------------------------------------------------------------------------------

  private sendMessage(opcode: number, data: Uint8Array, options: SendOptions | undefined): void {
    this.assertCanSend();
    this.assertNotFragmenting();
    const compressor = this.compressor;
    if (compressor !== undefined && options?.compress !== false && data.length >= compressor.threshold) {
      this.pushFrame(true, true, opcode, compressor.compress(data));
    } else {
      this.pushFrame(true, false, opcode, data);
    }
  }

  private pushFrame(fin: boolean, rsv1: boolean, opcode: number, payload: Uint8Array): void {
    const mask = this.role === 'client' ? (this.generateMask?.() ?? nextPooledMask(this.platform)) : undefined;
    const frames = encodeFrame({ fin, rsv1, opcode, payload, mask }, this.platform);
    for (const frame of frames) this.pushOutput(frame);
  }

  private pushEvent(event: ProtocolEvent): void {
    if (this.events === nothing) this.events = [event];
    else this.events.push(event);
  }

  private pushOutput(bytes: Uint8Array): void {
    if (this.output === nothing) this.output = [bytes];
    else this.output.push(bytes);
  }

  private assertCanSend(): void {
    if (this.closeSent || this.state !== 'open') {
      throw new WebSocketError(ErrorCode.notOpen, 'the connection is closing or closed');
    }
  }

  private assertNotFragmenting(): void {
    // §5.4: a whole message in the middle of our own fragmented one would be read as part of it.
    if (this.sendingOpcode !== 0) throw invalidArgument('a fragmented message is being sent; finish it with sendFragment first');
  }
}

const EMPTY = new Uint8Array(0);

function checkControlPayload(data: Uint8Array): Uint8Array {
  if (data.length > 125) throw new WebSocketError(ErrorCode.invalidArgument, 'control frame payload over 125 bytes');
  return data;
}

function invalidArgument(message: string): WebSocketError {
  return new WebSocketError(ErrorCode.invalidArgument, message);
}

function invalidUtf8(): WebSocketError {
  return new WebSocketError(ErrorCode.invalidUtf8, 'text message is not valid UTF-8', CloseCode.invalidPayload);
}

function asWebSocketError(error: unknown): WebSocketError {
  if (error instanceof WebSocketError) return error;
  return new WebSocketError(ErrorCode.invalidCompressedData, String(error), CloseCode.invalidPayload);
}

/** `events` and `output` while empty; frozen, so that a push to it would throw rather than be shared. */
const nothing = Object.freeze([]) as unknown as never[];
