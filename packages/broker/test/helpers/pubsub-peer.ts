import type { Duplex } from 'node:stream';
import {
  ChunkAssembler,
  type ClientMessage,
  type DeliveryMessage,
  type PresenceChunkMessage,
  type ServerChunkMessage,
  type ServerMessage,
  SUBPROTOCOL,
  type WelcomeMessage,
  decodeServerMessage,
  encodeBinary,
  encodeMessage,
  splitIntoChunks,
} from '@switchboard/protocol';
import { type ConnectOptions, ReadyState, type WebSocket, connect } from '@switchboard/core';

/**
 * A pubsub.v1 test peer on core's Node client: speaks the protocol through `@switchboard/protocol`
 * and records everything the broker sends, in order, so tests assert exact messages, orderings and close
 * codes. Every wait is bounded.
 */

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** One entry of what the peer received, in arrival order. */
export type Received =
  | { readonly kind: 'message'; readonly message: ServerMessage; readonly binary: boolean }
  /** A frame that did not decode (the test sees it rather than the helper throwing). */
  | { readonly kind: 'undecodable'; readonly error: string };

export interface PeerOptions extends Omit<ConnectOptions, 'protocols'> {
  /** @default ['pubsub.v1'] */
  readonly protocols?: readonly string[];
  /** Resolve once open, without waiting for `welcome`. @default false */
  readonly skipWelcome?: boolean;
}

const defaultWaitMs = 20_000;

interface Waiter {
  readonly predicate: (message: ServerMessage) => boolean;
  readonly resolve: (message: ServerMessage) => void;
}

export class Peer {
  readonly ws: WebSocket;
  /** Everything received, in order. */
  readonly log: Received[] = [];
  /** Completed deliveries (unchunked, or reassembled when their last chunk arrived), in completion order. */
  readonly deliveries: DeliveryMessage[] = [];
  readonly closed: Promise<CloseInfo>;
  private welcomeMessage: WelcomeMessage | undefined;
  private assembler: ChunkAssembler<ServerChunkMessage | PresenceChunkMessage> | undefined;
  private readonly waiters = new Set<Waiter>();
  private nextId = 1;
  private nextTransfer = 1;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason })));
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => this.receive(data as string | Buffer, isBinary));
  }

  /** Connects and waits for `welcome` (or only for the open, with `skipWelcome`). */
  static async open(url: string, options: PeerOptions = {}): Promise<Peer> {
    const { protocols = [SUBPROTOCOL], skipWelcome = false, ...rest } = options;
    const ws = connect(url, { ...rest, protocols });
    const peer = new Peer(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connection did not open in time')), defaultWaitMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.once('close', (code) => {
        clearTimeout(timer);
        reject(ws.error ?? new Error(`closed (${code}) before opening`));
      });
    });
    if (!skipWelcome) await peer.waitFor((message) => message.op === 'welcome');
    return peer;
  }

  get welcome(): WelcomeMessage {
    if (this.welcomeMessage === undefined) throw new Error('no welcome received');
    return this.welcomeMessage;
  }

  /** The decoded messages received so far, in order. */
  get messages(): ServerMessage[] {
    return this.log.flatMap((entry) => (entry.kind === 'message' ? [entry.message] : []));
  }

  /** A fresh request id. */
  id(): number {
    return this.nextId++;
  }

  /** Sends a protocol message (binary form when its data is bytes). */
  send(message: ClientMessage): void {
    this.ws.send(encodeMessage(message));
  }

  /** Sends raw text or bytes, for bad-input tests. */
  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** Sends a request and waits for the response with its id (ack or error). */
  async request(message: ClientMessage & { id?: number }, timeoutMs = defaultWaitMs): Promise<ServerMessage> {
    const id = message.id;
    if (id === undefined) throw new Error('request needs an id');
    // Registered before the answer can arrive; ids reused by a test never match older answers.
    const answer = this.waitForNew((received) => 'id' in received && received.id === id, timeoutMs);
    this.send(message);
    return answer;
  }

  subscribe(
    pattern: string,
    extra: { since?: Record<string, { offset: number; epoch: string; seq?: number }>; presence?: 'user' | 'connection' } = {},
  ): Promise<ServerMessage> {
    return this.request({ op: 'subscribe', id: this.id(), pattern, ...extra });
  }

  /**
   * Publishes with an id and waits for the answer. `data` bytes go in the binary form; payloads larger than
   * `chunkBytes` are chunked as protocol.md §7 requires.
   */
  publish(
    topic: string,
    data: DeliveryMessage['data'],
    options: { priority?: 'high' | 'normal' | 'low'; key?: string; chunkBytes?: number } = {},
  ): Promise<ServerMessage> {
    const id = this.id();
    const header = {
      op: 'publish' as const,
      id,
      topic,
      priority: options.priority ?? 'normal',
      ...(options.key === undefined ? {} : { key: options.key }),
    };
    const chunkBytes = options.chunkBytes ?? this.welcomeMessage?.limits.chunkBytes ?? Number.POSITIVE_INFINITY;
    const bytes = data instanceof Uint8Array ? data : undefined;
    const size = bytes?.length ?? Buffer.byteLength(JSON.stringify(data));
    if (size <= chunkBytes) return this.request({ ...header, data });
    const answer = this.waitForNew((received) => 'id' in received && received.id === id);
    this.sendChunks(header, bytes ?? Buffer.from(JSON.stringify(data)), bytes === undefined ? 'json' : 'binary', chunkBytes);
    return answer;
  }

  /** Sends a publish as chunks; returns the transfer id. */
  sendChunks(
    header: { op: 'publish'; id?: number; topic: string; priority: 'high' | 'normal' | 'low' },
    payload: Uint8Array,
    encoding: 'json' | 'binary',
    chunkBytes: number,
  ): number {
    const transfer = this.nextTransfer++;
    for (const { data, ...chunk } of splitIntoChunks(header, payload, chunkBytes, { transfer, encoding })) {
      this.ws.send(encodeBinary(chunk, data));
    }
    return transfer;
  }

  /** Waits for the first received message (past or future) that satisfies `predicate`. */
  waitFor<M extends ServerMessage = ServerMessage>(predicate: (message: ServerMessage) => boolean, timeoutMs = defaultWaitMs): Promise<M> {
    const found = this.messages.find(predicate);
    if (found !== undefined) return Promise.resolve(found as M);
    return this.waitForNew<M>(predicate, timeoutMs);
  }

  /** Waits for a message arriving from now on that satisfies `predicate`. */
  waitForNew<M extends ServerMessage = ServerMessage>(predicate: (message: ServerMessage) => boolean, timeoutMs = defaultWaitMs): Promise<M> {
    return new Promise<M>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (message) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(message as M);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching message within ${timeoutMs} ms; last received: ${describeTail(this.messages)}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Waits until `count` deliveries have completed. */
  async waitForDeliveries(count: number, timeoutMs = defaultWaitMs): Promise<DeliveryMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.deliveries.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.deliveries.length} of ${count} deliveries within ${timeoutMs} ms`);
      await this.waitForNew(() => true, Math.max(1, deadline - Date.now())).catch(() => undefined);
    }
    return this.deliveries;
  }

  /** Waits for the connection to close, bounded. */
  async waitClosed(timeoutMs = defaultWaitMs): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops reading from the TCP socket, like a client whose event loop is stuck or whose network stalled:
   * the kernel buffers fill and the broker sees backpressure. Reaches into core's WebSocket for its socket,
   * which it does not expose.
   */
  pause(): void {
    (Reflect.get(this.ws, 'socket') as Duplex).pause();
  }

  resume(): void {
    (Reflect.get(this.ws, 'socket') as Duplex).resume();
  }

  close(): Promise<CloseInfo> {
    if (this.ws.readyState === ReadyState.OPEN || this.ws.readyState === ReadyState.CONNECTING) this.ws.close(1000);
    return this.waitClosed();
  }

  private receive(data: string | Buffer, binary: boolean): void {
    const decoded = decodeServerMessage(data);
    if (!decoded.ok) {
      this.log.push({ kind: 'undecodable', error: `${decoded.error.code}: ${decoded.error.message}` });
      return;
    }
    const message = decoded.message;
    this.log.push({ kind: 'message', message, binary });
    if (message.op === 'welcome') {
      this.welcomeMessage = message;
      this.assembler = new ChunkAssembler<ServerChunkMessage | PresenceChunkMessage>(message.limits);
    } else if (message.op === 'message') {
      this.deliveries.push(message);
    } else if (message.op === 'chunk') {
      const result = this.assembler?.receive(message);
      if (result?.status === 'complete' && result.message.op === 'message') this.deliveries.push(result.message);
      // A chunked presence listing is answered once whole: its waiter (by `id`) gets the reassembled answer.
      if (result?.status === 'complete' && result.message.op === 'presence') {
        const answer = result.message;
        for (const waiter of [...this.waiters]) if (waiter.predicate(answer)) waiter.resolve(answer);
      }
    } else if (message.op === 'cancel') {
      this.assembler?.abandon(message.transfer);
    }
    for (const waiter of [...this.waiters]) if (waiter.predicate(message)) waiter.resolve(message);
  }
}

function describeTail(messages: readonly ServerMessage[]): string {
  return messages
    .slice(-3)
    .map((message) => JSON.stringify(message, (_key, value: unknown) => (value instanceof Uint8Array ? `<${value.length} bytes>` : value)).slice(0, 200))
    .join(' | ');
}
