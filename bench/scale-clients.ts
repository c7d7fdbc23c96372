// One client process of the memory-at-scale benchmark (`bench/memory-scale.ts`): it holds its share of the
// idle subscribed connections on raw sockets (a pre-built handshake and pre-masked frames, so a connection
// costs the load little), all from one loopback source address (a new one per server measured) so that
// the ephemeral ports of several processes do not run out. Driven over IPC by the parent:
//   { open: Plan }    -> opens `count` connections, at most `window` handshakes in flight; answers
//                        { opened, failed, finishedAt, handshakeMs, connectMs } (each handshake's time from
//                        `connect()` to the `101`, and to the TCP connection alone)
//   'subscribe'       -> sends the subscribe frame on each and answers { subscribed, finishedAt } once every
//                        one is acknowledged
//   { expect: mark }  -> answers { delivered, lastAt } once each connection got a message holding `mark`
//   'close'           -> destroys its sockets and exits
// Times are wall-clock milliseconds (`performance.timeOrigin + performance.now()`), comparable across
// processes on one machine.
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { ServerBytes, clientFrame } from './raw-websocket.js';

export interface Plan {
  host: string;
  port: number;
  path: string;
  protocol: string | undefined;
  localAddress: string;
  count: number;
  window: number;
  subscribe: string;
  isSubscribed: string;
}

const now = (): number => performance.timeOrigin + performance.now();

/** One connection: finds the end of the handshake, then reads server frames (never masked). */
class Connection {
  private readonly reader = new ServerBytes(
    (statusLine) => {
      this.client.timed(performance.now() - this.startedAt, this.connectedAfter);
      if (statusLine.startsWith('HTTP/1.1 101')) this.client.openedOne();
      else this.client.failedOne(this);
      return statusLine.startsWith('HTTP/1.1 101');
    },
    (opcode, payload) => {
      if (opcode === 0x9) this.socket.write(clientFrame(0xa, payload));
      else if (opcode === 0x1) this.client.message(this, payload.toString('utf8'));
    },
  );
  subscribed = false;
  marked = false;
  readonly startedAt = performance.now();
  /** ms from `connect()` to the socket's `connect` event: the kernel's handshake and this process's loop. */
  connectedAfter = NaN;

  constructor(
    readonly socket: Socket,
    private readonly client: Client,
  ) {
    socket.on('data', (chunk: Buffer) => this.reader.receive(chunk));
  }


}

class Client {
  readonly connections: Connection[] = [];
  private opened = 0;
  private failed = 0;
  private readonly handshakeMs: number[] = [];
  private readonly connectMs: number[] = [];
  private subscribedCount = 0;
  private delivered = 0;
  private lastAt = 0;
  private mark: string | undefined;
  private onOpened: (() => void) | undefined;
  private onSubscribed: (() => void) | undefined;
  private onDelivered: (() => void) | undefined;

  constructor(private readonly plan: Plan) {}

  async open(): Promise<void> {
    const { plan } = this;
    const request = Buffer.from(
      `GET ${plan.path} HTTP/1.1\r\nHost: ${plan.host}:${plan.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
        (plan.protocol === undefined ? '' : `Sec-WebSocket-Protocol: ${plan.protocol}\r\n`) +
        '\r\n',
    );
    let started = 0;
    await new Promise<void>((resolve) => {
      this.onOpened = () => {
        if (this.opened + this.failed === plan.count) resolve();
        else if (started < plan.count) startOne();
      };
      const startOne = (): void => {
        started++;
        const socket = connect({ host: plan.host, port: plan.port, localAddress: plan.localAddress, noDelay: true });
        const connection = new Connection(socket, this);
        socket.once('connect', () => {
          connection.connectedAfter = performance.now() - connection.startedAt;
          socket.write(request);
        });
        socket.once('error', () => this.failedOne(connection));
        this.connections.push(connection);
      };
      for (let i = 0; i < Math.min(plan.window, plan.count); i++) startOne();
    });
  }

  timed(handshakeMs: number, connectMs: number): void {
    this.handshakeMs.push(handshakeMs);
    this.connectMs.push(connectMs);
  }

  /** The handshakes' times, sent once after `open`. */
  timings(): { handshakeMs: number[]; connectMs: number[] } {
    return { handshakeMs: this.handshakeMs, connectMs: this.connectMs };
  }

  openedOne(): void {
    this.opened++;
    this.onOpened?.();
  }

  failedOne(connection: Connection): void {
    connection.socket.destroy();
    this.failed++;
    this.onOpened?.();
  }

  subscribe(): Promise<void> {
    const frame = clientFrame(0x1, Buffer.from(this.plan.subscribe));
    const open = this.connections.filter((connection) => !connection.socket.destroyed);
    return new Promise<void>((resolve) => {
      this.onSubscribed = () => {
        if (this.subscribedCount === open.length) resolve();
      };
      for (const connection of open) connection.socket.write(frame);
    });
  }

  expect(mark: string): Promise<void> {
    this.mark = mark;
    return new Promise<void>((resolve) => {
      this.onDelivered = () => {
        if (this.delivered === this.subscribedCount) resolve();
      };
    });
  }

  message(connection: Connection, text: string): void {
    if (!connection.subscribed && text.startsWith(this.plan.isSubscribed)) {
      connection.subscribed = true;
      this.subscribedCount++;
      this.onSubscribed?.();
    } else if (this.mark !== undefined && !connection.marked && text.includes(this.mark)) {
      connection.marked = true;
      this.delivered++;
      this.lastAt = now();
      this.onDelivered?.();
    }
  }

  report(): { opened: number; failed: number; subscribed: number; delivered: number; lastAt: number } {
    return { opened: this.opened, failed: this.failed, subscribed: this.subscribedCount, delivered: this.delivered, lastAt: this.lastAt };
  }
}

let client: Client | undefined;

process.on('message', (message: { open?: Plan; expect?: string } | 'subscribe' | 'close') => {
  void (async () => {
    if (message === 'close') {
      for (const connection of client?.connections ?? []) connection.socket.destroy();
      process.exit(0);
    } else if (message === 'subscribe') {
      await client!.subscribe();
      process.send!({ ...client!.report(), finishedAt: now() });
    } else if (message.open !== undefined) {
      client = new Client(message.open);
      await client.open();
      process.send!({ ...client.report(), ...client.timings(), finishedAt: now() });
    } else if (message.expect !== undefined) {
      await client!.expect(message.expect);
      process.send!({ ...client!.report(), finishedAt: now() });
    }
  })();
});
process.send!('ready');
