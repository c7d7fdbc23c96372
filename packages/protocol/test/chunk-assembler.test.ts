import t from 'tap';
import {
  type ClientChunkMessage,
  ChunkAssembler,
  type PresenceChunkMessage,
  type PublishHeader,
  type ServerChunkMessage,
  decodeCoreServerMessage,
  decodeServerMessage,
  encodeBinary,
  splitIntoChunks,
} from '../src/index.js';
import { hex, patternedBytes, smallLimits } from './helpers/fixtures.js';

const header: PublishHeader = { op: 'publish', id: 9, topic: 'docs.report', priority: 'normal' };

/** chunkBytes 8, maxMessageBytes 64, maxIncompleteBytes 100, maxConcurrentTransfers 3, chunkTimeoutMs 1000. */
function setup(options: { maxTombstones?: number } = {}) {
  const clock = { now: 0 };
  const assembler = new ChunkAssembler<ClientChunkMessage>(smallLimits, { now: () => clock.now, ...options });
  return { assembler, clock };
}

function chunksOf(transfer: number, length: number, chunkSize = 8, encoding: 'binary' | 'json' = 'binary'): ClientChunkMessage[] {
  return splitIntoChunks(header, patternedBytes(length, transfer), chunkSize, { transfer, encoding });
}

function first(transfer: number, total: number, data: Uint8Array, last = false): ClientChunkMessage {
  return { op: 'chunk', transfer, index: 0, last, total, encoding: 'binary', header, data };
}

function next(transfer: number, index: number, data: Uint8Array, last = false): ClientChunkMessage {
  return { op: 'chunk', transfer, index, last, data };
}

t.test('receiver gets chunks in order: the message completes byte-identical', async (t) => {
  const { assembler } = setup();
  const chunks = chunksOf(1, 20);
  t.same(assembler.receive(chunks[0]!), { status: 'pending', transfer: 1 });
  t.equal(assembler.reservedBytes, 20, 'the first chunk reserves the announced total');
  t.equal(assembler.openTransfers, 1);
  t.same(assembler.receive(chunks[1]!), { status: 'pending', transfer: 1 });
  const done = assembler.receive(chunks[2]!);
  t.same(done, { status: 'complete', transfer: 1, message: { ...header, data: patternedBytes(20, 1) } });
  t.equal(assembler.reservedBytes, 0);
  t.equal(assembler.openTransfers, 0);
});

t.test('json transfers are parsed after reassembly', async (t) => {
  const { assembler } = setup();
  const json = new TextEncoder().encode(JSON.stringify({ text: 'héllo wörld', n: [1, 2, 3] }));
  const chunks = splitIntoChunks(header, json, 8, { transfer: 4, encoding: 'json' });
  const results = chunks.map((chunk) => assembler.receive(chunk));
  t.same(results.at(-1), { status: 'complete', transfer: 4, message: { ...header, data: { text: 'héllo wörld', n: [1, 2, 3] } } });

  const broken = splitIntoChunks(header, new TextEncoder().encode('{"a":'), 8, { transfer: 5, encoding: 'json' });
  t.match(assembler.receive(broken[0]!), { status: 'rejected', transfer: 5, error: { code: 'malformed' }, header });
  const notUtf8 = splitIntoChunks(header, new Uint8Array([0x22, 0xff, 0x22]), 8, { transfer: 6, encoding: 'json' });
  t.match(assembler.receive(notUtf8[0]!), { status: 'rejected', error: { code: 'malformed' } });
  t.equal(assembler.reservedBytes, 0);
});

t.test('server chunks assemble into deliveries', async (t) => {
  const assembler = new ChunkAssembler<ServerChunkMessage>(smallLimits, { now: () => 0 });
  const delivery = { op: 'message', topic: 'video.cam1', priority: 'low', offset: 7, epoch: 'e7f3' } as const;
  const chunks = splitIntoChunks(delivery, patternedBytes(17), 8, { transfer: 907, encoding: 'binary' });
  const results = chunks.map((chunk) => assembler.receive(chunk));
  t.same(results.at(-1), { status: 'complete', transfer: 907, message: { ...delivery, data: patternedBytes(17) } });
});

t.test('a chunked presence listing, decoded by the full server decoder, assembles into a presence answer (protocol.md §13.2)', async (t) => {
  const limits = { ...smallLimits, maxMessageBytes: 1000, maxIncompleteBytes: 1000 };
  const assembler = new ChunkAssembler<ServerChunkMessage | PresenceChunkMessage>(limits, { now: () => 0 });
  const answer = { op: 'presence', id: 7, topic: 'chat.a', epoch: 'e', offset: 42, seq: 17, stats: { connections: 2, users: 1, anonymous: 1 }, truncated: false } as const;
  const data = { users: { alice: { c_1: { name: 'Alice' } } }, anonymous: { c_2: null } };
  const bytes = new TextEncoder().encode(JSON.stringify(data));
  const results = [];
  for (let index = 0; index * 8 < bytes.length; index++) {
    const last = (index + 1) * 8 >= bytes.length;
    const head = index === 0 ? { total: bytes.length, encoding: 'json', header: answer } as const : {};
    const decoded = decodeServerMessage(encodeBinary({ op: 'chunk', transfer: 3, index, last, ...head }, bytes.subarray(index * 8, (index + 1) * 8)));
    if (!decoded.ok || decoded.message.op !== 'chunk') return t.fail(`chunk ${index} decodes: ${JSON.stringify(decoded)}`);
    results.push(assembler.receive(decoded.message));
  }
  t.same(results.at(-1), { status: 'complete', transfer: 3, message: { ...answer, data } });
  const first = encodeBinary({ op: 'chunk', transfer: 4, index: 0, last: true, total: 1, encoding: 'json', header: answer }, new Uint8Array([48]));
  t.match(decodeCoreServerMessage(first), { ok: false, error: { code: 'bad_request' } }, 'a client without the presence capability never asked for one');
});

t.test('interleaved transfers complete independently', async (t) => {
  const { assembler } = setup();
  const a = chunksOf(1, 24);
  const b = chunksOf(2, 10);
  const order = [a[0], b[0], a[1], b[1], a[2]] as ClientChunkMessage[];
  const results = order.map((chunk) => assembler.receive(chunk));
  t.same(results.map((result) => result.status), ['pending', 'pending', 'pending', 'complete', 'complete']);
  t.same(results[3], { status: 'complete', transfer: 2, message: { ...header, data: patternedBytes(10, 2) } });
  t.same(results[4], { status: 'complete', transfer: 1, message: { ...header, data: patternedBytes(24, 1) } });
});

t.test('first-chunk bounds (protocol.md §7.3)', async (t) => {
  await t.test('total over maxMessageBytes: message_too_big, and its chunks are then ignored', async (t) => {
    const { assembler } = setup();
    const chunks = chunksOf(1, 65);
    t.match(assembler.receive(chunks[0]!), { status: 'rejected', transfer: 1, error: { code: 'message_too_big' }, header });
    t.equal(assembler.reservedBytes, 0, 'nothing was reserved');
    for (const chunk of chunks.slice(1)) t.same(assembler.receive(chunk), { status: 'ignored', transfer: 1 });
    t.match(assembler.receive(next(1, 9, patternedBytes(1))), { status: 'rejected', error: { code: 'unknown_transfer' } }, 'forgotten after its last chunk');
  });

  await t.test('one transfer more than maxConcurrentTransfers: too_many_transfers', async (t) => {
    const { assembler } = setup();
    for (const transfer of [1, 2, 3]) t.equal(assembler.receive(chunksOf(transfer, 9)[0]!).status, 'pending');
    t.match(assembler.receive(chunksOf(4, 9)[0]!), { status: 'rejected', transfer: 4, error: { code: 'too_many_transfers' } });
    t.equal(assembler.openTransfers, 3);
    t.equal(assembler.receive(chunksOf(1, 9)[1]!).status, 'complete');
    t.equal(assembler.receive(chunksOf(5, 9)[0]!).status, 'pending', 'room again once one completes');
  });

  await t.test('reservations over maxIncompleteBytes: transfer_buffer_full', async (t) => {
    const { assembler } = setup();
    t.equal(assembler.receive(chunksOf(1, 64)[0]!).status, 'pending');
    t.equal(assembler.receive(chunksOf(2, 36)[0]!).status, 'pending', '64 + 36 = 100 fits exactly');
    t.match(assembler.receive(chunksOf(3, 9)[0]!), { status: 'rejected', error: { code: 'transfer_buffer_full' } });
    t.equal(assembler.reservedBytes, 100);
    assembler.abandon(2);
    t.equal(assembler.reservedBytes, 64);
    t.equal(assembler.receive(chunksOf(4, 36)[0]!).status, 'pending');
  });

  await t.test('index 0 for an open transfer: both are abandoned with duplicate_transfer', async (t) => {
    const { assembler } = setup();
    assembler.receive(chunksOf(1, 20)[0]!);
    t.match(assembler.receive(chunksOf(1, 30)[0]!), { status: 'rejected', transfer: 1, error: { code: 'duplicate_transfer' }, header });
    t.equal(assembler.reservedBytes, 0);
    t.equal(assembler.openTransfers, 0);
    t.same(assembler.receive(chunksOf(1, 20)[1]!), { status: 'ignored', transfer: 1 });
  });
});

t.test('sequence errors (protocol.md §7.3)', async (t) => {
  await t.test('a chunk of a transfer never opened: unknown_transfer, once', async (t) => {
    const { assembler } = setup();
    t.match(assembler.receive(next(7, 1, patternedBytes(8))), { status: 'rejected', transfer: 7, error: { code: 'unknown_transfer' } });
    t.same(assembler.receive(next(7, 2, patternedBytes(8))), { status: 'ignored', transfer: 7 }, 'the rest of it stays quiet');
  });

  await t.test('a skipped index: chunk_out_of_order, memory freed', async (t) => {
    const { assembler } = setup();
    const chunks = chunksOf(1, 24);
    assembler.receive(chunks[0]!);
    t.match(assembler.receive(chunks[2]!), { status: 'rejected', error: { code: 'chunk_out_of_order', message: /expected chunk 1, got 2/ }, header });
    t.equal(assembler.reservedBytes, 0);
  });

  await t.test('a repeated index: chunk_out_of_order', async (t) => {
    const { assembler } = setup();
    const chunks = chunksOf(1, 24);
    assembler.receive(chunks[0]!);
    assembler.receive(chunks[1]!);
    t.match(assembler.receive(chunks[1]!), { status: 'rejected', error: { code: 'chunk_out_of_order' } });
  });

  const mismatches: [name: string, feed: (assembler: ChunkAssembler<ClientChunkMessage>) => unknown, message: RegExp][] = [
    ['an empty chunk', (a) => a.receive(first(1, 9, new Uint8Array(0))), /chunk 0 is empty/],
    ['a chunk over chunkBytes', (a) => a.receive(first(1, 20, patternedBytes(9))), /carries 9 bytes; chunkBytes is 8/],
    ['bytes past the announced total', (a) => (a.receive(first(1, 10, patternedBytes(8))), a.receive(next(1, 1, patternedBytes(3), true))), /past the announced 10 bytes/],
    ['a last chunk short of total', (a) => (a.receive(first(1, 10, patternedBytes(8))), a.receive(next(1, 1, patternedBytes(1), true))), /ends at 9 of 10 bytes/],
    ['a single last chunk short of total', (a) => a.receive(first(1, 10, patternedBytes(8), true)), /ends at 8 of 10 bytes/],
    ['all bytes without last', (a) => a.receive(first(1, 8, patternedBytes(8), false)), /all 8 bytes arrived but chunk 0 is not marked last/],
  ];
  for (const [name, feed, message] of mismatches) {
    await t.test(`${name}: chunk_size_mismatch`, async (t) => {
      const { assembler } = setup();
      t.match(feed(assembler), { status: 'rejected', transfer: 1, error: { code: 'chunk_size_mismatch', message } });
      t.equal(assembler.reservedBytes, 0, 'memory freed');
      t.equal(assembler.openTransfers, 0);
    });
  }
});

t.test('abandonment frees memory at once (protocol.md §7.4)', async (t) => {
  const { assembler } = setup();
  const chunks = chunksOf(1, 40);
  assembler.receive(chunks[0]!);
  assembler.receive(chunks[1]!);
  t.equal(assembler.reservedBytes, 40);
  t.equal(assembler.abandon(1), true, 'a cancel of an open transfer');
  t.equal(assembler.reservedBytes, 0);
  t.equal(assembler.openTransfers, 0);
  for (const chunk of chunks.slice(2)) t.same(assembler.receive(chunk), { status: 'ignored', transfer: 1 }, 'chunks in flight are dropped');
  t.equal(assembler.abandon(99), false, 'a cancel of an unknown transfer is harmless');
  t.same(assembler.receive(chunksOf(99, 9)[0]!), { status: 'ignored', transfer: 99 }, 'and its stray chunks are dropped too');
});

t.test('expiry with an injected clock (protocol.md §7.4)', async (t) => {
  const { assembler, clock } = setup();
  t.equal(assembler.nextExpiryAt(), undefined);
  const a = chunksOf(1, 24);
  const b = chunksOf(2, 24);
  assembler.receive(a[0]!);
  clock.now = 400;
  assembler.receive(b[0]!);
  t.equal(assembler.nextExpiryAt(), 1000);
  clock.now = 900;
  assembler.receive(a[1]!);
  t.equal(assembler.nextExpiryAt(), 1400, 'each chunk restarts its transfer timer');
  t.same(assembler.expire(1399), []);
  const expired = assembler.expire(1400);
  t.match(expired, [{ transfer: 2, header, error: { code: 'transfer_timeout', message: /no chunk for 1000 ms/ } }]);
  t.equal(assembler.reservedBytes, 24);
  t.same(assembler.receive(b[1]!), { status: 'ignored', transfer: 2 });
  clock.now = 1900;
  t.match(assembler.expire(), [{ transfer: 1 }], 'defaults to the injected clock');
  t.equal(assembler.reservedBytes, 0);
  t.equal(assembler.nextExpiryAt(), undefined);
});

t.test('remembered abandoned ids are bounded', async (t) => {
  const { assembler } = setup({ maxTombstones: 2 });
  for (const transfer of [1, 2, 3]) assembler.abandon(transfer);
  t.same(assembler.receive(next(2, 5, patternedBytes(1))), { status: 'ignored', transfer: 2 });
  t.same(assembler.receive(next(3, 5, patternedBytes(1))), { status: 'ignored', transfer: 3 });
  t.match(assembler.receive(next(1, 5, patternedBytes(1))), { status: 'rejected', error: { code: 'unknown_transfer' } }, 'the oldest is forgotten');
});

t.test('connection loss discards everything', async (t) => {
  const { assembler } = setup();
  assembler.receive(chunksOf(1, 20)[0]!);
  assembler.receive(chunksOf(2, 20)[0]!);
  assembler.abandon(3);
  assembler.clear();
  t.equal(assembler.reservedBytes, 0);
  t.equal(assembler.openTransfers, 0);
  t.match(assembler.receive(next(3, 1, patternedBytes(1))), { status: 'rejected', error: { code: 'unknown_transfer' } });
  const fresh = chunksOf(1, 9);
  t.equal(assembler.receive(fresh[0]!).status, 'pending');
  t.equal(hex(((assembler.receive(fresh[1]!) as { message: { data: Uint8Array } }).message.data)), hex(patternedBytes(9, 1)));
});
