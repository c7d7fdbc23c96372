// The cork buffer behind sendFrames: what a connection held during a loop iteration reaches the socket in
// order, small frames joined into one buffer, large ones as they are.
import t from 'tap';
import { Writable } from 'node:stream';
import { HeldWrites } from '../../src/node/held-writes.js';

/** A socket stand-in that records each buffer Node's stream hands to it (one entry per buffer of a writev). */
function recordingSocket(): { socket: Writable; buffers: Buffer[]; calls: number[] } {
  const buffers: Buffer[] = [];
  const calls: number[] = [];
  const socket = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      calls.push(1);
      buffers.push(chunk);
      callback();
    },
    writev(chunks, callback) {
      calls.push(chunks.length);
      for (const { chunk } of chunks) buffers.push(chunk as Buffer);
      callback();
    },
  });
  return { socket, buffers, calls };
}

const frame = (size: number, fill: number): Uint8Array => new Uint8Array(size).fill(fill);

t.test('small frames leave as one buffer, in order', async (t) => {
  const held = new HeldWrites();
  const frames = Array.from({ length: 50 }, (_, n) => frame(100 + n, n));
  held.add(frames.slice(0, 20));
  held.add(frames.slice(20));
  t.equal(held.bytes, frames.reduce((sum, f) => sum + f.length, 0), 'bytes counts everything held');
  const { socket, buffers, calls } = recordingSocket();
  held.writeTo(socket);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(calls, [1], 'one write');
  t.same(buffers[0], Buffer.concat(frames), 'the frames, joined in the order they were held');
});

t.test('large frames are written as they are, between runs of joined small ones, in one writev', async (t) => {
  const held = new HeldWrites();
  const small = [frame(10, 1), frame(20, 2)];
  const large = frame(16 * 1024, 3);
  const after = [frame(30, 4), frame(40, 5)];
  held.add([...small, large, ...after]);
  const { socket, buffers, calls } = recordingSocket();
  held.writeTo(socket);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(calls, [3], 'one writev of three buffers');
  t.same(buffers[0], Buffer.concat(small));
  t.equal(buffers[1]!.buffer, large.buffer, 'the large payload itself, not a copy');
  t.same(buffers[2], Buffer.concat(after));
});

t.test('a run of small frames past 64 KiB is cut into several joined buffers', async (t) => {
  const held = new HeldWrites();
  const frames = Array.from({ length: 200 }, (_, n) => frame(1000, n % 256));
  held.add(frames);
  const { socket, buffers } = recordingSocket();
  held.writeTo(socket);
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(buffers.length >= 4, `${buffers.length} buffers for 200,000 bytes`);
  t.ok(buffers.every((buffer) => buffer.length <= 64 * 1024), 'none over 64 KiB');
  t.same(Buffer.concat(buffers), Buffer.concat(frames), 'the same bytes, in order');
});

t.test('a single frame is written without a copy; nothing held writes nothing', async (t) => {
  const one = frame(100, 9);
  const held = new HeldWrites();
  held.add([one]);
  const { socket, buffers, calls } = recordingSocket();
  held.writeTo(socket);
  new HeldWrites().writeTo(socket);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(calls, [1]);
  t.equal(buffers[0]!.buffer, one.buffer, 'the caller buffer itself');
});
