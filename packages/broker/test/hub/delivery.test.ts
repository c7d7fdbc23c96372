import { decodeServerMessage } from '@switchboard/protocol';
import { PerMessageDeflate } from '@switchboard/core';
import t from 'tap';
import type { OutboundChunkSequence, OutboundUnit } from '../../src/hub/outbound-item.js';
import type { Publication } from '../../src/engine/engine.js';
import { Delivery, type Frames, uncompressed } from '../../src/hub/delivery.js';

/** Encoding a publication once per compression variant: exact bytes (RFC 6455 §5.2 framing, protocol.md §3, §7). */

const publication = (payload: Publication['payload']): Publication => ({
  topic: 'orders.eu',
  priority: 'high',
  offset: 7,
  epoch: 'e1',
  time: 0,
  payload,
});

function encoding(chunkBytes = 65536) {
  let transfers = 0;
  let encoded = 0;
  return {
    chunkBytes,
    nextTransfer: () => ++transfers,
    onEncoded: () => {
      encoded++;
    },
    get encoded() {
      return encoded;
    },
  };
}

/** Strips the unmasked server frame header (RFC 6455 §5.2) of a single-frame message. */
function payloadOf(frames: Frames): Buffer {
  const whole = Buffer.concat(frames);
  const length = whole[1]! & 0x7f;
  const offset = length === 126 ? 4 : length === 127 ? 10 : 2;
  return whole.subarray(offset);
}

t.test('a JSON publication: one text frame, header first, the payload text spliced in unparsed', async (t) => {
  const counter = encoding();
  const delivery = new Delivery(publication({ encoding: 'json', text: '{"qty":2}' }), 'drop-oldest', counter);
  const item = delivery.itemFor(uncompressed) as OutboundUnit<Frames>;
  const whole = Buffer.concat(item.payload);
  t.equal(whole[0], 0x81, 'FIN + text opcode');
  const text = '{"op":"message","topic":"orders.eu","priority":"high","offset":7,"epoch":"e1","data":{"qty":2}}';
  t.equal(payloadOf(item.payload).toString(), text);
  t.equal(item.bytes, whole.length, 'bytes counts the framed size');
  t.match(item, { priority: 'high', topic: 'orders.eu', offset: 7, epoch: 'e1', overflow: 'drop-oldest' });
  t.equal(delivery.itemFor(uncompressed), item, 'the same item for every subscriber of the variant');
  t.equal(counter.encoded, 1, 'encoded once');
});

t.test('a binary publication: one binary frame, 4-byte header length, header, raw payload', async (t) => {
  const delivery = new Delivery(publication({ encoding: 'binary', bytes: new Uint8Array([1, 2, 3]) }), 'conflate', encoding());
  const item = delivery.itemFor(uncompressed) as OutboundUnit<Frames>;
  const whole = Buffer.concat(item.payload);
  t.equal(whole[0], 0x82, 'FIN + binary opcode');
  const body = payloadOf(item.payload);
  const header = '{"op":"message","topic":"orders.eu","priority":"high","offset":7,"epoch":"e1"}';
  t.equal(body.readUInt32BE(0), header.length);
  t.equal(body.subarray(4, 4 + header.length).toString(), header);
  t.same([...body.subarray(4 + header.length)], [1, 2, 3]);
});

t.test('a payload over chunkBytes: chunks of one transfer, and a cancel frame to abandon it', async (t) => {
  const delivery = new Delivery(publication({ encoding: 'binary', bytes: new Uint8Array(10) }), 'drop-oldest', encoding(4));
  const item = delivery.itemFor(uncompressed) as OutboundChunkSequence<Frames>;
  t.equal(item.chunks.length, 3, '4 + 4 + 2 bytes');
  const decoded = item.chunks.map((chunk) => decodeServerMessage(payloadOf(chunk.payload)));
  t.match(decoded[0], { ok: true, message: { op: 'chunk', transfer: 1, index: 0, last: false, total: 10, encoding: 'binary', header: { op: 'message', offset: 7 } } });
  t.match(decoded[2], { ok: true, message: { op: 'chunk', transfer: 1, index: 2, last: true } });
  t.equal(payloadOf(item.abandon?.payload ?? []).toString(), '{"op":"cancel","transfer":1}');
  const json = new Delivery(publication({ encoding: 'json', text: '"0123456789"' }), 'drop-oldest', encoding(5)).itemFor(uncompressed) as OutboundChunkSequence<Frames>;
  t.match(decodeServerMessage(payloadOf(json.chunks[0]!.payload)), { ok: true, message: { encoding: 'json', total: 12 } }, 'JSON chunks carry encoding json');
});

t.test('a compression variant is encoded once too, RSV1 set, and inflates to the same message', async (t) => {
  const params = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  const compressor = new PerMessageDeflate('server', params, { threshold: 0 });
  const inflater = new PerMessageDeflate('client', params);
  t.teardown(() => {
    compressor.close();
    inflater.close();
  });
  const counter = encoding();
  const text = JSON.stringify({ rows: Array.from({ length: 50 }, () => 'the same words again') });
  const delivery = new Delivery(publication({ encoding: 'json', text }), 'drop-oldest', counter);
  const plain = delivery.itemFor(uncompressed) as OutboundUnit<Frames>;
  const variant = { id: 15, compressor };
  const compressed = delivery.itemFor(variant) as OutboundUnit<Frames>;
  t.equal(delivery.itemFor(variant), compressed);
  t.equal(counter.encoded, 2, 'once per variant');
  t.equal(Buffer.concat(compressed.payload)[0], 0xc1, 'FIN + RSV1 + text');
  t.ok(compressed.bytes < plain.bytes / 3, `compressed ${compressed.bytes} < plain ${plain.bytes}`);
  t.equal(inflater.decompress(payloadOf(compressed.payload), true).toString(), payloadOf(plain.payload).toString());
});
