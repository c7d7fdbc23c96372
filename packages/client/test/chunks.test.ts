import t from 'tap';
import { type DeliveryHeader, type ServerChunkMessage, splitIntoChunks } from '@switchboard/protocol';
import { InboundChunks } from '../src/chunks.js';
import { patternedBytes, smallLimits } from './helpers/chunk-fixtures.js';

const header: DeliveryHeader = { op: 'message', topic: 'video.cam1', priority: 'low', offset: 7, epoch: 'e7f3' };

/** chunkBytes 8, maxMessageBytes 64, maxIncompleteBytes 100, maxConcurrentTransfers 3, chunkTimeoutMs 1000. */
function setup() {
  const clock = { now: 0 };
  return { inbound: new InboundChunks(smallLimits, () => clock.now), clock };
}

function chunksOf(transfer: number, length: number, deliveryHeader: DeliveryHeader = header): ServerChunkMessage[] {
  return splitIntoChunks(deliveryHeader, patternedBytes(length, transfer), 8, { transfer, encoding: 'binary' });
}

t.test('client receives a chunked delivery: the message completes as if unchunked', async (t) => {
  const { inbound } = setup();
  const [first, second, third] = chunksOf(907, 20);
  t.same(inbound.receive(first!), { kind: 'pending' });
  t.same(inbound.open, { transfers: 1, bytes: 20 });
  t.same(inbound.receive(second!), { kind: 'pending' });
  t.same(inbound.receive(third!), { kind: 'delivery', message: { ...header, data: patternedBytes(20, 907) } });
  t.same(inbound.open, { transfers: 0, bytes: 0 });
});

t.test('two deliveries interleaved by priority assemble independently', async (t) => {
  const { inbound } = setup();
  const urgent = { ...header, topic: 'alerts.fire', priority: 'high', offset: 8 } as const;
  const low = chunksOf(1, 24);
  const high = chunksOf(2, 9, urgent);
  const outcomes = [low[0]!, high[0]!, high[1]!, low[1]!, low[2]!].map((chunk) => inbound.receive(chunk));
  t.same(outcomes.map((outcome) => outcome.kind), ['pending', 'pending', 'delivery', 'pending', 'delivery']);
  t.match(outcomes[2], { message: { topic: 'alerts.fire', data: patternedBytes(9, 2) } });
});

t.test('client abandons a delivery over its limits: missed (a gap for the app), memory freed', async (t) => {
  const { inbound } = setup();
  const big = splitIntoChunks(header, patternedBytes(65), 8, { transfer: 5, encoding: 'binary' });
  t.match(inbound.receive(big[0]!), { kind: 'missed', header, error: { code: 'message_too_big' } });
  t.same(inbound.open, { transfers: 0, bytes: 0 });
  t.same(inbound.receive(big[1]!), { kind: 'pending' }, 'its later chunks are dropped silently');
});

t.test('a broken chunk of an open delivery makes it missed; a stray one is only invalid', async (t) => {
  const { inbound } = setup();
  const chunks = chunksOf(3, 24);
  inbound.receive(chunks[0]!);
  t.match(inbound.receive(chunks[2]!), { kind: 'missed', header, error: { code: 'chunk_out_of_order' } });
  t.equal(inbound.open.bytes, 0);
  t.match(inbound.receive({ op: 'chunk', transfer: 44, index: 2, last: false, data: new Uint8Array(1) }), {
    kind: 'invalid',
    error: { code: 'unknown_transfer' },
  });
});

t.test('the broker cancels a delivery: freed at once, stray chunks dropped, nothing reported (a gap follows)', async (t) => {
  const { inbound } = setup();
  const chunks = chunksOf(907, 24);
  inbound.receive(chunks[0]!);
  inbound.cancel(907);
  t.same(inbound.open, { transfers: 0, bytes: 0 });
  t.same(inbound.receive(chunks[1]!), { kind: 'pending' });
  t.same(inbound.receive(chunks[2]!), { kind: 'pending' });
  inbound.cancel(12345);
  t.same(inbound.receive(chunksOf(908, 4)[0]!), { kind: 'delivery', message: { ...header, data: patternedBytes(4, 908) } });
});

t.test('a delivery with no chunk for chunkTimeoutMs expires as missed', async (t) => {
  const { inbound, clock } = setup();
  inbound.receive(chunksOf(1, 24)[0]!);
  clock.now = 400;
  inbound.receive(chunksOf(2, 24)[0]!);
  t.equal(inbound.nextExpiryAt(), 1000);
  t.same(inbound.expire(999), []);
  t.match(inbound.expire(1000), [{ kind: 'missed', header, error: { code: 'transfer_timeout' } }]);
  t.equal(inbound.nextExpiryAt(), 1400);
  inbound.clear();
  t.equal(inbound.nextExpiryAt(), undefined, 'a closed connection discards everything');
  t.same(inbound.open, { transfers: 0, bytes: 0 });
});
