import type { MessageData, WebSocket } from '../../src/index.js';

export interface ReceivedMessage {
  data: MessageData;
  isBinary: boolean;
}

/** Queues a connection's messages so a test can await them one by one, with a bound on each wait. */
export class MessageQueue {
  private readonly received: ReceivedMessage[] = [];
  private waiter: ((message: ReceivedMessage) => void) | undefined;

  constructor(websocket: WebSocket) {
    websocket.on('message', (data, isBinary) => {
      const message = { data, isBinary };
      if (this.waiter === undefined) {
        this.received.push(message);
        return;
      }
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter(message);
    });
  }

  next(timeoutMs = 10_000): Promise<ReceivedMessage> {
    const queued = this.received.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
      this.waiter = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
    });
  }
}

export function opened(websocket: WebSocket, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connection did not open in time')), timeoutMs);
    websocket.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    websocket.once('close', (code) => {
      clearTimeout(timer);
      reject(websocket.error ?? new Error(`closed (${code}) before opening`));
    });
  });
}

export interface CloseEvent {
  code: number;
  reason: string;
  wasClean: boolean;
}

export function closed(websocket: WebSocket, timeoutMs = 10_000): Promise<CloseEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connection did not close in time')), timeoutMs);
    websocket.once('close', (code, reason, wasClean) => {
      clearTimeout(timer);
      resolve({ code, reason, wasClean });
    });
  });
}

/** Deterministic bytes of a given size, so an echo can be compared exactly. */
export function pattern(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
  return bytes;
}
