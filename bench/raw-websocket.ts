// A WebSocket client on a raw TCP socket, for load generators whose own cost must stay small beside the
// server's: a pre-built handshake, client frames masked with a zero key (which leaves the payload as it
// is, so nothing is copied to mask it), and server frames read in place without decoding them to text.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A client frame (FIN, opcode) with a zero masking key. */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | length, 0, 0, 0, 0])
      : length < 65_536
        ? Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff, 0, 0, 0, 0])
        : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), bigEndian64(length), Buffer.alloc(4)]);
  return Buffer.concat([header, payload]);
}

/**
 * A raw client's receiving side, across TCP reads: the upgrade response (`onUpgrade` gets its status line
 * and says whether to go on), then server frames, never masked.
 */
export class ServerBytes {
  private pending: Buffer | undefined;
  private upgraded = false;

  constructor(
    private readonly onUpgrade: (statusLine: string) => boolean,
    private readonly onFrame: (opcode: number, payload: Buffer) => void,
  ) {}

  receive(chunk: Buffer): void {
    let data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    if (!this.upgraded) {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        this.pending = data;
        return;
      }
      const statusLine = data.subarray(0, end).toString('latin1').split('\r\n')[0]!;
      if (!this.onUpgrade(statusLine)) return;
      this.upgraded = true;
      data = data.subarray(end + 4);
    }
    const taken = readServerFrames(data, this.onFrame);
    if (taken < data.length) this.pending = Buffer.from(data.subarray(taken));
  }
}

/**
 * Calls `onFrame` for each whole server frame (unmasked) at the start of `data`, and returns how many bytes
 * they took: what follows is the start of a frame still arriving.
 */
function readServerFrames(data: Buffer, onFrame: (opcode: number, payload: Buffer) => void): number {
  let offset = 0;
  while (data.length - offset >= 2) {
    const opcode = data[offset]! & 0x0f;
    let length = data[offset + 1]! & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      if (data.length - offset < 4) break;
      length = data.readUInt16BE(offset + 2);
      start = offset + 4;
    } else if (length === 127) {
      if (data.length - offset < 10) break;
      length = Number(data.readBigUInt64BE(offset + 2));
      start = offset + 10;
    }
    if (data.length < start + length) break;
    onFrame(opcode, data.subarray(start, start + length));
    offset = start + length;
  }
  return offset;
}

function bigEndian64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(value));
  return buffer;
}

export interface RawWebSocketHandlers {
  /** A text or binary frame's payload; `at` is when its TCP read arrived (one clock read per read). */
  onData(payload: Buffer, at: number): void;
  onClose(): void;
}

/**
 * Starts one connection; its `opened` settles once the server answered the upgrade with 101. The handlers
 * may see frames before `opened` resolves (a server that speaks first can send its first frame in the same
 * TCP read as the 101), so they get the connection itself from here, not from awaiting it.
 */
export function openRawWebSocket(url: string, protocols: string[], handlers: RawWebSocketHandlers, now: () => number): RawWebSocket {
  const { hostname, port, pathname, search } = new URL(url);
  const request = Buffer.from(
    `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
      (protocols.length === 0 ? '' : `Sec-WebSocket-Protocol: ${protocols.join(', ')}\r\n`) +
      '\r\n',
  );
  const socket = connect({ host: hostname, port: Number(port), noDelay: true });
  const connection = new RawWebSocket(socket, handlers, now);
  socket.once('connect', () => socket.write(request));
  socket.once('error', (error) => connection.fail(error));
  return connection;
}

export class RawWebSocket {
  private upgraded = false;
  /** When the read being taken apart arrived: one clock reading per TCP read, for all its frames. */
  private readAt = 0;
  private readonly reader = new ServerBytes(
    (statusLine) => {
      if (!statusLine.startsWith('HTTP/1.1 101')) {
        this.fail(new Error(`upgrade refused: ${statusLine}`));
        return false;
      }
      this.upgraded = true;
      this.resolveOpened();
      return true;
    },
    (opcode, payload) => {
      // Continuation frames (0) carry data too: a byte-stream protocol (NATS's) reads them alike.
      if (opcode <= 0x2) this.handlers.onData(payload, this.readAt);
      else if (opcode === 0x9) this.socket.write(clientFrame(0xa, payload));
      else if (opcode === 0x8) this.socket.end();
    },
  );
  readonly opened: Promise<void>;
  private resolveOpened!: () => void;
  private rejectOpened!: (error: Error) => void;

  constructor(
    readonly socket: Socket,
    private readonly handlers: RawWebSocketHandlers,
    private readonly now: () => number,
  ) {
    this.opened = new Promise<void>((resolve, reject) => {
      this.resolveOpened = resolve;
      this.rejectOpened = reject;
    });
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.once('close', () => handlers.onClose());
  }

  send(frame: Buffer): void {
    this.socket.write(frame);
  }

  sendText(text: string): void {
    this.socket.write(clientFrame(0x1, Buffer.from(text)));
  }

  fail(error: Error): void {
    this.socket.destroy();
    if (!this.upgraded) this.rejectOpened(error);
  }

  private receive(chunk: Buffer): void {
    this.readAt = this.now();
    this.reader.receive(chunk);
  }

}
