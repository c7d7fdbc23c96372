import t from 'tap';
import type { SendPriority } from '@switchboard/protocol';
import { type FrameSink, type Outgoing, SendQueue } from '../src/send-queue.js';

/**
 * A socket stand-in: every frame adds its length to `bufferedAmount` until `drain` takes bytes away, like
 * a WebSocket whose network is slower than its writer.
 */
class FakeSink implements FrameSink {
  bufferedAmount = 0;
  readonly frames: string[] = [];
  failNext = false;

  send(data: string | Uint8Array): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('socket closed');
    }
    this.frames.push(typeof data === 'string' ? data : `<${data.length} bytes>`);
    this.bufferedAmount += data.length;
  }

  drain(bytes = Infinity): void {
    this.bufferedAmount = Math.max(0, this.bufferedAmount - bytes);
  }
}

/** A single-frame item whose frame is its name padded to `size` characters. */
function single(name: string, priority: SendPriority, size = name.length): Outgoing<string> {
  return { priority, frames: 1, frame: () => name.padEnd(size, '.'), tag: name };
}

/** A chunked item: frames `name#0` ... `name#(count-1)`, each `size` characters, announcing `total` bytes. */
function chunked(name: string, priority: SendPriority, count: number, options: { id?: number; size?: number; total?: number } = {}): Outgoing<string> {
  const size = options.size ?? 10;
  return {
    priority,
    frames: count,
    frame: (index) => `${name}#${index}`.padEnd(size, '.'),
    transfer: { id: options.id ?? 1, total: options.total ?? count * size },
    tag: name,
  };
}

const trim = (frames: readonly string[]): string[] => frames.map((frame) => frame.replace(/\.+$/, ''));

t.test('writes the most urgent lane first: control > high > normal > low, FIFO within a lane', async (t) => {
  const queue = new SendQueue<string>();
  const sink = new FakeSink();
  queue.push(single('low-1', 'low'));
  queue.push(single('normal-1', 'normal'));
  queue.push(single('high-1', 'high'));
  queue.push(single('low-2', 'low'));
  queue.push(single('control-1', 'control'));
  queue.push(single('high-2', 'high'));
  const result = queue.write(sink, Infinity);
  t.same(sink.frames, ['control-1', 'high-1', 'high-2', 'normal-1', 'low-1', 'low-2']);
  t.equal(result.blocked, false);
  t.equal(queue.length, 0);
  t.ok(result.written.every((frame) => frame.first && frame.last && frame.index === 0));
});

t.test('writes only while bufferedAmount is under the high-water mark (one frame may overshoot it)', async (t) => {
  const queue = new SendQueue<string>();
  const sink = new FakeSink();
  for (const name of ['a', 'b', 'c', 'd']) queue.push(single(name, 'normal', 40));
  let result = queue.write(sink, 100);
  t.same(trim(sink.frames), ['a', 'b', 'c'], '0, 40, 80 are under 100; at 120 it stops');
  t.equal(sink.bufferedAmount, 120);
  t.equal(result.blocked, true, 'blocked: frames are ready but the socket is full');
  result = queue.write(sink, 100);
  t.same(result.written, [], 'still full: nothing written');
  sink.drain(30);
  result = queue.write(sink, 100);
  t.same(trim(sink.frames), ['a', 'b', 'c', 'd']);
  t.equal(result.blocked, false, 'empty queue: not blocked, even if the socket is over the mark');
  t.equal(queue.write(sink, 0).blocked, false);
});

t.test('an urgent publish overtakes a large upload between two of its chunks (protocol.md §6)', async (t) => {
  const queue = new SendQueue<string>();
  const sink = new FakeSink();
  queue.push(chunked('upload', 'low', 6));
  let result = queue.write(sink, 20);
  t.same(trim(sink.frames), ['upload#0', 'upload#1'], 'two 10-byte chunks fill the 20-byte mark');
  t.match(result.written[0], { tag: 'upload', index: 0, first: true, last: false });
  t.equal(queue.transfersInProgress, 1);
  queue.push(single('alert', 'high', 10));
  queue.push(single('chat', 'normal', 10));
  sink.drain(10);
  result = queue.write(sink, 20);
  t.same(trim(sink.frames).slice(2), ['alert'], 'the next write is the urgent one, not chunk 2');
  sink.drain();
  queue.write(sink, Infinity);
  t.same(trim(sink.frames), ['upload#0', 'upload#1', 'alert', 'chat', 'upload#2', 'upload#3', 'upload#4', 'upload#5']);
  t.equal(queue.transfersInProgress, 0);
});

t.test('two uploads at different priorities interleave by priority; within a priority they go one after the other', async (t) => {
  const queue = new SendQueue<string>();
  const sink = new FakeSink();
  queue.push(chunked('big-low', 'low', 3, { id: 1 }));
  queue.push(chunked('big-normal', 'normal', 3, { id: 2 }));
  queue.push(chunked('second-normal', 'normal', 2, { id: 3 }));
  // Drain one frame at a time, pushing an urgent message after the first frame.
  const order: string[] = [];
  for (let step = 0; step < 9; step++) {
    if (step === 1) queue.push(single('urgent', 'high'));
    const result = queue.write(sink, 1);
    order.push(...trim(sink.frames.splice(0)));
    sink.drain();
    if (result.written.length === 0) break;
  }
  t.same(order, ['big-normal#0', 'urgent', 'big-normal#1', 'big-normal#2', 'second-normal#0', 'second-normal#1', 'big-low#0', 'big-low#1', 'big-low#2']);
});

t.test('transfer limits: a transfer starts only within maxConcurrentTransfers and maxIncompleteBytes', async (t) => {
  const queue = new SendQueue<string>({ maxConcurrentTransfers: 1, maxIncompleteBytes: 1000 });
  const sink = new FakeSink();
  queue.push(chunked('low-upload', 'low', 3, { id: 1 }));
  queue.write(sink, 1);
  t.same(trim(sink.frames), ['low-upload#0']);
  queue.push(chunked('high-upload', 'high', 2, { id: 2 }));
  queue.push(single('small-normal', 'normal'));
  t.same(queue.peek(), { tag: 'low-upload', index: 1 }, 'the high upload waits for capacity, so the low upload it waits on goes next');
  sink.drain();
  queue.write(sink, Infinity);
  t.same(
    trim(sink.frames),
    ['low-upload#0', 'low-upload#1', 'low-upload#2', 'high-upload#0', 'high-upload#1', 'small-normal'],
    'small-normal does not delay the transfer the high upload waits for',
  );
});

t.test('a lane waiting for transfer capacity: less urgent transfers under way finish first, more urgent frames still overtake', async (t) => {
  const queue = new SendQueue<string>({ maxConcurrentTransfers: 4, maxIncompleteBytes: 100 });
  const sink = new FakeSink();
  queue.push(chunked('low-a', 'low', 6, { id: 1, total: 60 }));
  queue.write(sink, 1);
  queue.push(chunked('normal-b', 'normal', 6, { id: 2, total: 60 }));
  queue.push(chunked('low-c', 'low', 1, { id: 3, total: 5 }));
  queue.push(single('high-d', 'high'));
  sink.drain();
  const result = queue.write(sink, Infinity);
  t.same(trim(sink.frames), [
    'low-a#0',
    'high-d',
    'low-a#1',
    'low-a#2',
    'low-a#3',
    'low-a#4',
    'low-a#5',
    'normal-b#0',
    'normal-b#1',
    'normal-b#2',
    'normal-b#3',
    'normal-b#4',
    'normal-b#5',
    'low-c#0',
  ], '60 + 60 > 100: normal-b starts when low-a ends');
  t.equal(result.blocked, false);
});

t.test('a transfer larger than maxIncompleteBytes on its own still starts (the broker answers it)', async (t) => {
  const queue = new SendQueue<string>({ maxConcurrentTransfers: 1, maxIncompleteBytes: 10 });
  const sink = new FakeSink();
  queue.push(chunked('huge', 'normal', 2, { total: 500 }));
  queue.write(sink, Infinity);
  t.same(trim(sink.frames), ['huge#0', 'huge#1']);
});

t.test('remove: an unstarted item is forgotten; a started transfer must be cancelled', async (t) => {
  const queue = new SendQueue<string>({ maxConcurrentTransfers: 1, maxIncompleteBytes: Infinity });
  const sink = new FakeSink();
  queue.push(chunked('upload', 'normal', 4, { id: 7 }));
  queue.push(single('queued', 'low'));
  queue.write(sink, 1);
  t.same(queue.remove('queued'), { started: false });
  t.same(queue.remove('upload'), { started: true, transfer: 7 });
  t.equal(queue.transfersInProgress, 0, 'its capacity is free again');
  t.equal(queue.remove('upload'), undefined, 'removing twice finds nothing');
  t.equal(queue.length, 0);
  queue.push(chunked('next', 'normal', 2, { id: 8 }));
  sink.drain();
  queue.write(sink, Infinity);
  t.same(trim(sink.frames), ['upload#0', 'next#0', 'next#1']);
});

t.test('clear returns every tag not fully written, most urgent first, and resets transfers', async (t) => {
  const queue = new SendQueue<string>();
  const sink = new FakeSink();
  queue.push(chunked('upload', 'low', 3));
  queue.push(single('n1', 'normal', 10));
  queue.push(single('n2', 'normal', 10));
  queue.push(single('c1', 'control', 10));
  queue.write(sink, 30);
  t.same(trim(sink.frames), ['c1', 'n1', 'n2']);
  queue.write(sink, 40);
  t.same(trim(sink.frames).slice(3), ['upload#0']);
  t.same(queue.clear(), ['upload'], 'the half-sent upload must be sent again from the start');
  t.equal(queue.length, 0);
  t.equal(queue.transfersInProgress, 0);
  t.same(queue.clear(), []);
});

t.test('frames are encoded lazily, once each, in order', async (t) => {
  const queue = new SendQueue<string>();
  const sink = new FakeSink();
  const encoded: number[] = [];
  queue.push({ priority: 'normal', frames: 3, frame: (index) => (encoded.push(index), `f${index}`), transfer: { id: 1, total: 6 }, tag: 'x' });
  t.same(encoded, [], 'nothing encoded when queued');
  queue.write(sink, 1);
  t.same(encoded, [0]);
  sink.drain();
  queue.write(sink, Infinity);
  t.same(encoded, [0, 1, 2]);
});

t.test('a sink that throws stops writing and leaves the frame queued', async (t) => {
  const queue = new SendQueue<string>();
  const sink = new FakeSink();
  queue.push(single('a', 'normal'));
  queue.push(single('b', 'normal'));
  sink.failNext = true;
  const result = queue.write(sink, Infinity);
  t.match(result, { written: [], blocked: false, error: { message: 'socket closed' } });
  t.equal(queue.length, 2);
  queue.write(sink, Infinity);
  t.same(sink.frames, ['a', 'b']);
});

t.test('caller bugs throw', async (t) => {
  const queue = new SendQueue<string>();
  t.throws(() => queue.push({ priority: 'normal', frames: 0, frame: () => '', tag: 'x' }), RangeError);
  queue.push(single('x', 'normal'));
  t.throws(() => queue.push(single('x', 'high')), RangeError);
  t.ok(queue.has('x'));
});
