import { decodeServerMessage } from '@switchboard/protocol';
import { ReadyState, type SendResult, type WebSocket } from '@switchboard/core';
import t from 'tap';
import { SessionOutbound } from '../../src/connection/session-outbound.js';
import { type Frames, frame, uncompressed } from '../../src/hub/delivery.js';
import type { OutboundUnit, OverflowPolicy } from '../../src/hub/outbound-item.js';
import { BrokerStats } from '../../src/stats.js';

/** The one write path: fast path, queue and pump, and what each of core's send results does. */

const highWaterMarkBytes = 1000;

/** A socket whose buffer and send results the test sets; it records the text of every message written. */
class FakeSocket {
  readyState: ReadyState = ReadyState.OPEN;
  bufferedAmount = 0;
  /** What the next writes answer; `sent` once the list runs out. */
  results: SendResult[] = [];
  readonly written: string[] = [];
  corks = 0;

  sendFrames(frames: Frames): SendResult {
    const result = this.results.shift() ?? 'sent';
    if (result !== 'dropped') this.written.push(textOf(frames));
    return result;
  }

  corked(write: () => void): void {
    this.corks++;
    write();
  }
}

/** The text of an unmasked single-frame message (RFC 6455 §5.2), short enough for a 7-bit length. */
function textOf(frames: Frames): string {
  return Buffer.concat(frames).subarray(2).toString('utf8');
}

function setup(overflow: OverflowPolicy = 'drop-oldest', maxQueuedBytes = 100) {
  const socket = new FakeSocket();
  const stats = new BrokerStats();
  const slowConsumer: string[] = [];
  const owner = {
    websocket: socket as unknown as WebSocket,
    isOpen: true,
    variant: uncompressed,
    config: { maxQueuedBytes, slowConsumerPolicy: overflow, maxPendingGaps: 10, highWaterMarkBytes },
    context: { stats },
    closeSlowConsumer: (reason: string) => {
      slowConsumer.push(reason);
      stop();
    },
  };
  const outbound = new SessionOutbound(owner);
  /** What a session does as it starts closing. */
  const stop = (): void => {
    owner.isOpen = false;
    outbound.stop();
  };
  return { socket, stats, slowConsumer, outbound, stop };
}

function delivery(text: string, offset: number, priority: OutboundUnit['priority'] = 'normal'): OutboundUnit<Frames> {
  return { priority, topic: 'feed', offset, epoch: 'e1', ...frame(Buffer.from(text), false, undefined) };
}

t.test('fast path: nothing waits and the socket has room, so the frame is written at once, without a queue', async (t) => {
  const { socket, stats, outbound } = setup();
  outbound.enqueue(delivery('a', 1));
  t.same(socket.written, ['a']);
  t.equal(outbound.queueIfAny, undefined, 'no queue for a subscriber that keeps up');
  t.equal(stats.framesWritten, 1);
  t.equal(stats.bytesWritten, 3, 'the frame: 2 header bytes and 1 payload byte');
  t.equal(socket.corks, 0, 'one frame needs no cork');
});

t.test('a full socket queues; the pump writes by priority once there is room, then lets the queue go', async (t) => {
  const { socket, stats, outbound } = setup();
  socket.bufferedAmount = highWaterMarkBytes;
  outbound.enqueue(delivery('low', 1, 'low'));
  outbound.enqueue(delivery('high', 2, 'high'));
  outbound.sendControl({ op: 'pong', id: 7 });
  t.same(socket.written, []);
  t.equal(stats.queuedBytes, outbound.queue.queuedBytes, 'the node-wide figure follows the queue');
  t.ok(stats.queuedBytes > 0);
  socket.bufferedAmount = 0;
  outbound.pump();
  t.same(
    socket.written.map((text) => (text.startsWith('{') ? (decodeServerMessage(text) as { ok: true; message: { op: string } }).message.op : text)),
    ['pong', 'high', 'low'],
  );
  t.equal(socket.corks, 1, 'one corked burst, and no cork while the socket was full');
  t.equal(outbound.queueIfAny, undefined, 'emptied: let go');
  t.equal(stats.queuedBytes, 0);
  t.equal(stats.framesWritten, 3);
});

t.test('backpressure from core ends the burst; the next pump goes on', async (t) => {
  const { socket, outbound } = setup();
  socket.bufferedAmount = highWaterMarkBytes;
  for (let offset = 1; offset <= 3; offset++) outbound.enqueue(delivery(`m${offset}`, offset));
  socket.bufferedAmount = 0;
  socket.results = ['backpressure'];
  outbound.pump();
  t.same(socket.written, ['m1'], 'stopped after the write that reported backpressure');
  outbound.pump();
  t.same(socket.written, ['m1', 'm2', 'm3']);
});

t.test('while frames wait, a new one queues behind them even if the socket has room again', async (t) => {
  const { socket, outbound } = setup();
  socket.bufferedAmount = highWaterMarkBytes;
  outbound.enqueue(delivery('m1', 1));
  socket.bufferedAmount = 0;
  socket.results = ['backpressure'];
  outbound.enqueue(delivery('m2', 2));
  t.same(socket.written, ['m1'], 'm2 did not overtake m1, and waits behind the backpressure');
  outbound.pump();
  t.same(socket.written, ['m1', 'm2']);
});

t.test('dropped by core: not counted as written, and the connection goes as a slow consumer', async (t) => {
  const { socket, stats, slowConsumer, outbound } = setup();
  socket.results = ['dropped'];
  outbound.enqueue(delivery('a', 1));
  t.same(socket.written, []);
  t.equal(stats.framesWritten, 0);
  t.same(slowConsumer, ['the socket refused a frame']);
});

t.test('a queue over its cap under the disconnect policy closes as a slow consumer', async (t) => {
  const { socket, slowConsumer, outbound } = setup('disconnect', 10);
  socket.bufferedAmount = highWaterMarkBytes;
  outbound.enqueue(delivery('12345678', 1));
  outbound.enqueue(delivery('12345678', 2));
  t.same(slowConsumer, ['send queue over its cap']);
});

t.test('drops under pressure are counted; the gap notice goes out before the deliveries left', async (t) => {
  const { socket, stats, outbound } = setup('drop-oldest', 10);
  socket.bufferedAmount = highWaterMarkBytes;
  outbound.enqueue(delivery('1234567', 1));
  outbound.enqueue(delivery('1234567', 2));
  t.equal(stats.deliveriesDropped, 1);
  socket.bufferedAmount = 0;
  outbound.pump();
  t.equal(socket.written.length, 2);
  t.match(decodeServerMessage(socket.written[0] as string), { ok: true, message: { op: 'gap', topic: 'feed', from: 1, to: 1, reason: 'slow_consumer' } });
  t.equal(socket.written[1], '1234567');
  t.same([...stats.gapNotices], [['slow_consumer', 1]]);
});

t.test('stopped: nothing more is written, and its queued bytes leave the node-wide figure', async (t) => {
  const { socket, stats, outbound, stop } = setup();
  socket.bufferedAmount = highWaterMarkBytes;
  outbound.enqueue(delivery('a', 1));
  t.ok(stats.queuedBytes > 0);
  stop();
  t.equal(stats.queuedBytes, 0);
  socket.bufferedAmount = 0;
  outbound.pump();
  outbound.enqueue(delivery('b', 2));
  outbound.sendControl({ op: 'pong', id: 1 });
  t.same(socket.written, []);
});

t.test('a socket that is no longer open is never written to', async (t) => {
  const { socket, outbound } = setup();
  socket.readyState = ReadyState.CLOSING;
  outbound.enqueue(delivery('a', 1));
  t.same(socket.written, []);
  t.ok(outbound.queueIfAny !== undefined, 'it waits in the queue (the close releases it)');
});

t.test('sendError counts errors by code', async (t) => {
  const { socket, stats, outbound } = setup();
  outbound.sendError({ id: 3, code: 'forbidden', message: 'no' });
  t.same([...stats.errors], [['forbidden', 1]]);
  t.match(decodeServerMessage(socket.written[0] as string), { ok: true, message: { op: 'error', id: 3, code: 'forbidden' } });
});
