import fc from 'fast-check';
import t from 'tap';
import {
  type ChunkLimits,
  type ClientChunkMessage,
  type ClientMessage,
  ChunkAssembler,
  type DeliveryMessage,
  type OutgoingFrame,
  type PublishMessage,
  type ServerChunkMessage,
  decodeClientMessage,
  decodeCoreServerMessage,
  encodeFrames,
} from '../src/index.js';

/** Limits large enough that only the chunk size varies. */
function limitsFor(chunkBytes: number): ChunkLimits {
  return { chunkBytes, maxMessageBytes: 1 << 20, maxIncompleteBytes: 1 << 22, maxConcurrentTransfers: 8, chunkTimeoutMs: 1000 };
}

/** Sends frames through the real decoder and assembler, as a server receiving publishes would. */
function receiveAsServer(frames: readonly OutgoingFrame[], assembler: ChunkAssembler<ClientChunkMessage>): PublishMessage[] {
  const received: PublishMessage[] = [];
  for (const frame of frames) {
    const decoded = decodeClientMessage(frame.data);
    if (!decoded.ok) throw new Error(`decode failed: ${decoded.error.code} ${decoded.error.message}`);
    const message: ClientMessage = decoded.message;
    if (message.op === 'publish') received.push(message);
    else if (message.op === 'chunk') {
      const result = assembler.receive(message);
      if (result.status === 'complete') received.push(result.message);
      else if (result.status !== 'pending') throw new Error(`chunk ${result.status}`);
    }
  }
  return received;
}

const chunkBytesArbitrary = fc.integer({ min: 1, max: 300 });

t.test('property: any binary payload at any chunk size reassembles byte-identical', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), chunkBytesArbitrary, fc.constantFrom('high', 'normal', 'low'), (payload, chunkBytes, priority) => {
      const message: PublishMessage = { op: 'publish', id: 1, topic: 'up.load', priority, data: payload };
      const frames = encodeFrames(message, { chunkBytes, nextTransfer: () => 5 });
      const expectedFrames = payload.length <= chunkBytes ? 1 : Math.ceil(payload.length / chunkBytes);
      const assembler = new ChunkAssembler<ClientChunkMessage>(limitsFor(chunkBytes), { now: () => 0 });
      const received = receiveAsServer(frames, assembler);
      return (
        frames.length === expectedFrames &&
        frames.every((frame) => frame.priority === priority) &&
        received.length === 1 &&
        Buffer.from(received[0]?.data as Uint8Array).equals(Buffer.from(payload)) &&
        assembler.reservedBytes === 0
      );
    }),
    { numRuns: 500 },
  );
  t.pass('reassembled byte-identical at every size');
});

t.test('property: any JSON payload at any chunk size reassembles equal', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), chunkBytesArbitrary, (data, chunkBytes) => {
      const message: PublishMessage = { op: 'publish', topic: 'up.load', priority: 'normal', data: data as PublishMessage['data'] };
      const frames = encodeFrames(message, { chunkBytes, nextTransfer: () => 5 });
      const received = receiveAsServer(frames, new ChunkAssembler<ClientChunkMessage>(limitsFor(chunkBytes), { now: () => 0 }));
      // JSON round trips normalise -0 to 0, as JSON.stringify does.
      return received.length === 1 && JSON.stringify(received[0]?.data) === JSON.stringify(data);
    }),
    { numRuns: 500 },
  );
  t.pass('reassembled equal at every size');
});

t.test('property: interleaved deliveries all complete, in any interleaving', async (t) => {
  const transfersArbitrary = fc.array(fc.uint8Array({ minLength: 1, maxLength: 400 }), { minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(transfersArbitrary, chunkBytesArbitrary, fc.infiniteStream(fc.nat()), (payloads, chunkBytes, picks) => {
      let nextTransfer = 1000;
      const queues = payloads.map((data, index) => {
        const message: DeliveryMessage = { op: 'message', topic: `t.${index}`, priority: 'low', offset: index + 1, epoch: 'e', data };
        return encodeFrames(message, { chunkBytes, nextTransfer: () => nextTransfer++ });
      });
      const assembler = new ChunkAssembler<ServerChunkMessage>(limitsFor(chunkBytes), { now: () => 0 });
      const completed = new Map<string, Uint8Array>();
      const pick = picks[Symbol.iterator]();
      // A priority send queue may pick any transfer next, but keeps each transfer's chunks in order.
      for (let remaining = queues.filter((queue) => queue.length > 0); remaining.length > 0; remaining = queues.filter((queue) => queue.length > 0)) {
        const queue = remaining[(pick.next().value as number) % remaining.length]!;
        const decoded = decodeCoreServerMessage(queue.shift()!.data);
        if (!decoded.ok) return false;
        const message = decoded.message;
        if (message.op === 'message') completed.set(message.topic, message.data as Uint8Array);
        else if (message.op === 'chunk') {
          const result = assembler.receive(message);
          if (result.status === 'complete') completed.set(result.message.topic, result.message.data as Uint8Array);
          else if (result.status !== 'pending') return false;
        }
      }
      return (
        completed.size === payloads.length &&
        payloads.every((data, index) => Buffer.from(completed.get(`t.${index}`)!).equals(Buffer.from(data))) &&
        assembler.reservedBytes === 0 &&
        assembler.openTransfers === 0
      );
    }),
    { numRuns: 300 },
  );
  t.pass('every interleaving completes every transfer');
});

t.test('property: abandoning at any point frees all memory and swallows the rest', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 2, maxLength: 600 }), fc.integer({ min: 1, max: 64 }), fc.nat(), (payload, chunkBytes, cut) => {
      fc.pre(payload.length > chunkBytes);
      const frames = encodeFrames({ op: 'publish', topic: 'a', priority: 'low', data: payload }, { chunkBytes, nextTransfer: () => 3 });
      const assembler = new ChunkAssembler<ClientChunkMessage>(limitsFor(chunkBytes), { now: () => 0 });
      const at = 1 + (cut % (frames.length - 1));
      const chunks = frames.map((frame) => {
        const decoded = decodeClientMessage(frame.data);
        if (!decoded.ok || decoded.message.op !== 'chunk') throw new Error('expected chunks');
        return decoded.message;
      });
      for (const chunk of chunks.slice(0, at)) assembler.receive(chunk);
      if (assembler.reservedBytes !== payload.length) return false;
      assembler.abandon(3);
      return assembler.reservedBytes === 0 && chunks.slice(at).every((chunk) => assembler.receive(chunk).status === 'ignored');
    }),
    { numRuns: 300 },
  );
  t.pass('abandonment frees memory at every cut point');
});
