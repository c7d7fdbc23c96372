import fc from 'fast-check';
import t from 'tap';
import {
  type DeliveryHeader,
  type PublishHeader,
  decodeClientMessage,
  decodeServerMessage,
  encodeFrames,
  messagePriority,
  payloadBytes,
  splitIntoChunks,
  utf8ByteLength,
} from '../src/index.js';
import { hex, patternedBytes } from './helpers/fixtures.js';

const publishHeader: PublishHeader = { op: 'publish', id: 9, topic: 'docs.report', priority: 'normal' };
const deliveryHeader: DeliveryHeader = { op: 'message', topic: 'video.cam1', priority: 'low', offset: 7, epoch: 'e7f3' };

t.test('splitIntoChunks: exact chunk messages (protocol.md §7.2)', async (t) => {
  const payload = patternedBytes(20);
  const chunks = splitIntoChunks(deliveryHeader, payload, 8, { transfer: 907, encoding: 'binary' });
  t.same(
    chunks.map(({ data, ...header }) => ({ header, bytes: hex(data) })),
    [
      { header: { op: 'chunk', transfer: 907, index: 0, last: false, total: 20, encoding: 'binary', header: deliveryHeader }, bytes: hex(payload.subarray(0, 8)) },
      { header: { op: 'chunk', transfer: 907, index: 1, last: false }, bytes: hex(payload.subarray(8, 16)) },
      { header: { op: 'chunk', transfer: 907, index: 2, last: true }, bytes: hex(payload.subarray(16, 20)) },
    ],
  );
  t.ok(chunks.every((chunk) => chunk.data.buffer === payload.buffer), 'chunks are views, not copies');
  const single = splitIntoChunks(publishHeader, patternedBytes(3), 8, { transfer: 1, encoding: 'json' });
  t.same(single.map(({ data, ...header }) => header), [{ op: 'chunk', transfer: 1, index: 0, last: true, total: 3, encoding: 'json', header: publishHeader }]);
});

t.test('splitIntoChunks at every payload and chunk size up to 40 x 12', async (t) => {
  let checked = 0;
  for (let length = 1; length <= 40; length++) {
    const payload = patternedBytes(length, length);
    for (let chunkSize = 1; chunkSize <= 12; chunkSize++) {
      const chunks = splitIntoChunks(publishHeader, payload, chunkSize, { transfer: 3, encoding: 'binary' });
      const ok =
        chunks.length === Math.ceil(length / chunkSize) &&
        chunks.every((chunk, index) => chunk.index === index && chunk.last === (index === chunks.length - 1)) &&
        chunks.every((chunk, index) => chunk.data.length === (index < chunks.length - 1 ? chunkSize : length - chunkSize * index)) &&
        chunks.every((chunk, index) => (index === 0) === (chunk.total !== undefined && chunk.header !== undefined && chunk.encoding !== undefined)) &&
        hex(new Uint8Array(chunks.flatMap((chunk) => Array.from(chunk.data)))) === hex(payload);
      if (!ok) t.fail(`length ${length}, chunk size ${chunkSize}`);
      checked++;
    }
  }
  t.equal(checked, 480);
});

t.test('splitIntoChunks refuses what the spec forbids', async (t) => {
  t.throws(() => splitIntoChunks(publishHeader, new Uint8Array(0), 8, { transfer: 1, encoding: 'binary' }), RangeError, 'an empty payload');
  t.throws(() => splitIntoChunks(publishHeader, new Uint8Array(1), 0, { transfer: 1, encoding: 'binary' }), RangeError, 'chunk size 0');
  t.throws(() => splitIntoChunks(publishHeader, new Uint8Array(1), 1.5, { transfer: 1, encoding: 'binary' }), RangeError, 'fractional chunk size');
});

t.test('encodeFrames: chunks exactly the payloads over chunkBytes (protocol.md §7.1)', async (t) => {
  let transfers = 100;
  const options = { chunkBytes: 8, nextTransfer: () => ++transfers };

  const atLimit = encodeFrames({ ...deliveryHeader, data: patternedBytes(8) }, options);
  t.equal(atLimit.length, 1, '8 bytes with chunkBytes 8: one binary message');
  t.same({ ...atLimit[0], data: undefined }, { data: undefined, priority: 'low' });
  t.same(decodeServerMessage(atLimit[0]?.data ?? ''), { ok: true, message: { ...deliveryHeader, data: patternedBytes(8) } });
  t.equal(transfers, 100, 'no transfer id spent on an unchunked message');

  const overLimit = encodeFrames({ ...deliveryHeader, data: patternedBytes(9) }, options);
  t.same(overLimit.map((frame) => [frame.priority, frame.transfer]), [['low', 101], ['low', 101]], '9 bytes: two chunks of transfer 101');
  const decoded = overLimit.map((frame) => decodeServerMessage(frame.data));
  t.match(decoded, [
    { ok: true, message: { op: 'chunk', transfer: 101, index: 0, last: false, total: 9, encoding: 'binary', header: deliveryHeader } },
    { ok: true, message: { op: 'chunk', transfer: 101, index: 1, last: true } },
  ]);

  // "é" is 2 UTF-8 bytes: the JSON text "ééé" is 8 bytes (quotes included), "éééé" is 10.
  const jsonAtLimit = encodeFrames({ ...publishHeader, data: 'ééé' }, options);
  t.same(jsonAtLimit, [{ data: '{"op":"publish","id":9,"topic":"docs.report","priority":"normal","data":"ééé"}', priority: 'normal' }]);
  const jsonOver = encodeFrames({ ...publishHeader, data: 'éééé' }, options);
  t.equal(jsonOver.length, 2);
  t.match(decodeClientMessage(jsonOver[0]?.data ?? ''), {
    ok: true,
    message: { op: 'chunk', transfer: 102, index: 0, total: 10, encoding: 'json', header: publishHeader },
  });

  t.same(encodeFrames({ op: 'ping', id: 1 }, options), [{ data: '{"op":"ping","id":1}', priority: 'control' }]);
  t.same(
    encodeFrames({ op: 'gap', topic: 'a', epoch: 'e', from: 1, to: 2, reason: 'conflation' }, options).map((frame) => frame.priority),
    ['control'],
  );
  t.same(encodeFrames({ ...deliveryHeader, data: new Uint8Array(0) }, options).length, 1, 'an empty binary payload is one message');
});

t.test('messagePriority: control for everything but publishes and deliveries (protocol.md §6)', async (t) => {
  t.equal(messagePriority({ ...publishHeader, priority: 'high', data: 1 }), 'high');
  t.equal(messagePriority({ ...deliveryHeader, data: 1 }), 'low');
  t.equal(messagePriority({ op: 'published', id: 1 }), 'control');
  t.equal(messagePriority({ op: 'error', code: 'internal', message: 'x' }), 'control');
  t.equal(messagePriority({ op: 'cancel', transfer: 1 }), 'control');
});

t.test('payload sizes are UTF-8 bytes of the JSON text', async (t) => {
  t.same(payloadBytes(new Uint8Array([1, 2])), { encoding: 'binary', bytes: new Uint8Array([1, 2]) });
  t.same(payloadBytes({ a: 'é' }), { encoding: 'json', bytes: new TextEncoder().encode('{"a":"é"}') });
  for (const [text, bytes] of [['', 0], ['a', 1], ['é', 2], ['€', 3], ['😀', 4], ['\ud800', 3], ['\udc00x', 4], ['\ud83d\ud83d', 6]] as const) {
    t.equal(utf8ByteLength(text), bytes, `${JSON.stringify(text)} is ${bytes} bytes`);
  }
  const anyCodeUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units));
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), anyCodeUnits), (text) => utf8ByteLength(text) === new TextEncoder().encode(text).length), {
    numRuns: 3000,
  });
});
