import fc from 'fast-check';
import t from 'tap';
import { sealEnvelope } from '../src/binary-envelope.js';
import { schemaDecoders } from '../src/decode-client.js';
import { type DecodeResult, decodeWith } from '../src/decode-frame.js';
import { decodeServerMessage } from '../src/decode-server.js';
import { decodeCoreServerMessage } from '../src/decode-server-core.js';
import { serverDirection } from '../src/messages.js';

/**
 * decode-server.ts checks server messages by hand so that the browser bundle carries no zod; the zod
 * schemas of messages-server.ts are the reference. Both decoders get the same valid and broken messages,
 * in the text and the binary form, and must agree: accepted or not, the same output, the same error code
 * and the same request and transfer ids.
 */

const reference = schemaDecoders(serverDirection);
const decodeByReference = (data: string | Uint8Array): DecodeResult<unknown> => decodeWith(reference, data);

type Json = Record<string, unknown>;

const integer = fc.oneof(fc.constantFrom(0, 1, 2, 4100, 2 ** 53 - 1), fc.nat({ max: 1_000_000 }));
const topic = fc.constantFrom('orders.eu', 'a', 'chat.room-1', 'x.y.z');
const pattern = fc.constantFrom('orders.*', 'a.>', 'chat.room-1', '*');
const epoch = fc.constantFrom('e1', 'epoch-7f3a', 'E');
const limits = fc.record({
  maxMessageBytes: fc.constant(524_288),
  chunkBytes: fc.constant(65_536),
  maxFrameBytes: fc.constant(69_636),
  maxSubscriptions: integer,
  maxConcurrentTransfers: fc.integer({ min: 1, max: 16 }),
  maxIncompleteBytes: fc.constant(1_048_576),
  chunkTimeoutMs: fc.integer({ min: 1, max: 60_000 }),
  idempotencyWindowMs: integer,
  tokenGraceMs: integer,
  publishRate: fc.option(fc.record({ perSecond: fc.constantFrom(0.5, 100), burst: fc.integer({ min: 1, max: 200 }) }), { nil: undefined }),
});
const recoveryReason = fc.constantFrom('epoch_mismatch', 'expired', 'no_history');
const presenceRecovery = fc.oneof(
  fc.record({ status: fc.constant('recovered'), seq: integer }),
  fc.record({ status: fc.constant('failed'), reason: recoveryReason, seq: integer }),
);
const recoveryResult = fc.oneof(
  fc.record({ status: fc.constant('recovered'), epoch, offset: integer, presence: presenceRecovery }, { requiredKeys: ['status', 'epoch', 'offset'] }),
  fc.record({ status: fc.constant('failed'), reason: recoveryReason, epoch, offset: integer, presence: presenceRecovery }, { requiredKeys: ['status', 'reason', 'epoch', 'offset'] }),
);
const connection = fc.constantFrom('c_1', 'c_AbC-9');
const user = fc.constantFrom('alice', 'bob@example.com', 'ü');
const info = fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
const counts = { connections: integer, users: integer, anonymous: integer };
const position = { topic, epoch, offset: integer, seq: integer };
const presenceData = fc.record({
  users: fc.dictionary(user, fc.dictionary(connection, info, { maxKeys: 2 }), { maxKeys: 2 }),
  anonymous: fc.dictionary(connection, info, { maxKeys: 2 }),
});
const deliveryHeader = fc.record({ op: fc.constant('message'), topic, priority: fc.constantFrom('high', 'normal', 'low'), offset: fc.integer({ min: 1 }), epoch });

/** Valid server messages of every op, optional fields present or absent, and whether to send the binary form. */
const validMessage: fc.Arbitrary<{ message: Json; binary: boolean }> = fc.oneof(
  fc.record(
    {
      op: fc.constant('welcome'),
      protocol: fc.constant('pubsub.v1'),
      connectionId: connection,
      node: fc.constantFrom('n1', ''),
      limits,
      tokenExpiresAt: integer,
      capabilities: fc.subarray(['presence', 'user_topics', 'server_subscriptions', 'some_later_capability']),
      user,
      userTopicPrefix: fc.constantFrom('user', ''),
      subscriptions: fc.array(pattern, { maxLength: 3 }),
    },
    { requiredKeys: ['op', 'protocol', 'connectionId', 'limits'] },
  ),
  fc.record(
    { op: fc.constant('subscribed'), id: fc.integer({ min: 1 }), pattern, recovery: fc.dictionary(topic, recoveryResult, { maxKeys: 3 }), latest: fc.record({ epoch, offset: integer, replayed: fc.boolean() }), server: fc.boolean() },
    { requiredKeys: ['op', 'id', 'pattern'] },
  ),
  fc.record({ op: fc.constant('unsubscribed'), id: fc.integer({ min: 1 }), pattern, code: fc.constantFrom('forbidden', 'some_new_code') }, { requiredKeys: ['op', 'pattern'] }),
  fc.record({ op: fc.constant('published'), id: fc.integer({ min: 1 }), offset: integer, epoch, duplicate: fc.boolean() }, { requiredKeys: ['op', 'id'] }),
  fc.record({ op: fc.constant('refreshed'), id: fc.integer({ min: 1 }), tokenExpiresAt: integer }, { requiredKeys: ['op', 'id'] }),
  fc.record({ op: fc.constant('pong'), id: fc.integer({ min: 1 }) }),
  fc.record({ op: fc.constant('gap'), topic, epoch, from: fc.integer({ min: 1, max: 10 }), to: fc.integer({ min: 10, max: 20 }), reason: fc.constantFrom('slow_consumer', 'conflation', 'engine_outage') }),
  fc.record(
    { op: fc.constant('error'), id: fc.integer({ min: 1 }), code: fc.constantFrom('rate_limited', 'x'), message: fc.string(), topic: fc.string(), transfer: fc.integer({ min: 1 }), retryAfterMs: integer },
    { requiredKeys: ['op', 'code', 'message'] },
  ),
  fc.record({ op: fc.constant('cancel'), transfer: fc.integer({ min: 1 }) }),
  fc.record(
    { op: fc.constant('presence'), id: fc.integer({ min: 1 }), ...position, stats: fc.record(counts), truncated: fc.boolean(), data: presenceData },
    { requiredKeys: ['op', 'id', 'topic', 'epoch', 'offset', 'seq', 'stats', 'truncated'] },
  ),
  fc.record(
    { op: fc.constant('presence_stats'), id: fc.integer({ min: 1 }), ...position, ...counts, coalesced: integer },
    { requiredKeys: ['op', 'topic', 'epoch', 'offset', 'seq', 'connections', 'users', 'anonymous'] },
  ),
  fc.record({ op: fc.constant('join'), ...position, connection, user, info, first: fc.boolean() }, { requiredKeys: ['op', 'topic', 'epoch', 'offset', 'seq', 'connection', 'first'] }),
  fc.record(
    { op: fc.constant('leave'), ...position, connection, user, last: fc.boolean(), reason: fc.constantFrom('left', 'disconnected', 'expired', 'server') },
    { requiredKeys: ['op', 'topic', 'epoch', 'offset', 'seq', 'connection', 'last', 'reason'] },
  ),
  fc.record({ op: fc.constant('presence_gap'), topic, epoch, seq: integer, reason: fc.constantFrom('slow_consumer', 'engine_outage') }),
  fc.record({ op: fc.constant('server_subscribe'), pattern }),
).map((message) => ({ message, binary: false }));

const presenceHeader = fc.record({ op: fc.constant('presence'), id: fc.integer({ min: 1 }), ...position, stats: fc.record(counts), truncated: fc.boolean() });

const validPayloadMessage: fc.Arbitrary<{ message: Json; binary: boolean }> = fc.oneof(
  fc.tuple(deliveryHeader, fc.jsonValue(), fc.boolean()).map(([header, data, binary]) => ({ message: { ...header, data }, binary })),
  fc.tuple(fc.integer({ min: 1 }), fc.nat({ max: 3 }), fc.boolean(), fc.oneof(deliveryHeader, presenceHeader)).map(([transfer, index, last, header]) => ({
    message: index === 0 ? { op: 'chunk', transfer, index, last, total: 100, encoding: 'json', header } : { op: 'chunk', transfer, index, last },
    binary: true,
  })),
);

/** Values that break one field or another: wrong types, out of range, bad topics, not visible ASCII. */
const oddValue = fc.constantFrom<unknown>(null, -1, 0, 1.5, 2 ** 53, '', 'x', 'a b', 'orders.*', 'é', true, {}, [], { status: 'recovered' }, 'pubsub.v2', ['a..b'], [1]);

/** A valid message with one field (possibly nested) replaced or removed, or an unknown field added. */
const brokenMessage = fc.tuple(fc.oneof(validMessage, validPayloadMessage), fc.nat(), oddValue, fc.constantFrom('replace', 'remove', 'extra')).map(
  ([{ message, binary }, pick, value, how]) => {
    const copy = structuredClone(message);
    const targets: [Json, string][] = [];
    const collect = (object: Json): void => {
      for (const [key, field] of Object.entries(object)) {
        if (key === 'op') continue;
        targets.push([object, key]);
        if (typeof field === 'object' && field !== null && !Array.isArray(field) && key !== 'data') collect(field as Json);
      }
    };
    collect(copy);
    const target = targets[pick % Math.max(1, targets.length)];
    if (how === 'extra' || target === undefined) copy['unknownField'] = value;
    else if (how === 'remove') delete target[0][target[1]];
    else target[0][target[1]] = value;
    return { message: copy, binary };
  },
);

function wire({ message, binary }: { message: Json; binary: boolean }): string | Uint8Array {
  if (!binary) return JSON.stringify(message);
  const { data, ...header } = message;
  return sealEnvelope(header, data instanceof Uint8Array ? data : new TextEncoder().encode(JSON.stringify(data ?? null)));
}

function agree(data: string | Uint8Array): void {
  const expected = decodeByReference(data);
  const actual = decodeServerMessage(data);
  const describe = (): string => `${typeof data === 'string' ? data : `binary ${JSON.stringify(Array.from(data.subarray(0, 200)))}`}\nzod: ${JSON.stringify(expected)}\nours: ${JSON.stringify(actual)}`;
  if (expected.ok !== actual.ok) throw new Error(`accepted differently:\n${describe()}`);
  if (expected.ok && actual.ok) {
    if (fc.stringify(expected.message) !== fc.stringify(actual.message)) {
      throw new Error(`decoded differently:\n${describe()}`);
    }
    return;
  }
  if (!expected.ok && !actual.ok) {
    if (expected.error.code !== actual.error.code || expected.id !== actual.id || expected.transfer !== actual.transfer) {
      throw new Error(`failed differently:\n${describe()}`);
    }
  }
}

t.test('valid server messages: both decoders accept them with the same output', async (t) => {
  let accepted = 0;
  fc.assert(
    fc.property(fc.oneof(validMessage, validPayloadMessage), (sample) => {
      const data = wire(sample);
      agree(data);
      if (decodeServerMessage(data).ok) accepted++;
    }),
    { numRuns: 2000 },
  );
  t.equal(accepted, 2000, 'every valid message accepted');
});

t.test('broken server messages: both decoders refuse (or accept) them alike, with the same error code and ids', async (t) => {
  let refused = 0;
  fc.assert(
    fc.property(brokenMessage, (sample) => {
      const data = wire(sample);
      agree(data);
      if (!decodeServerMessage(data).ok) refused++;
    }),
    { numRuns: 5000 },
  );
  t.ok(refused > 2000, `most broken messages refused (${refused} of 5000)`);
});

t.test('examples: the error code says which rule failed', async (t) => {
  const code = (message: Json): string | undefined => {
    const result = decodeServerMessage(JSON.stringify(message));
    return result.ok ? undefined : result.error.code;
  };
  const header = { op: 'message', topic: 'a.b', priority: 'normal', offset: 1, epoch: 'e' };
  t.equal(code({ ...header, data: 1 }), undefined, 'a valid delivery');
  t.equal(code({ ...header, topic: 'a.*', data: 1 }), 'invalid_topic', 'a wildcard is no topic');
  t.equal(code(header), 'bad_request', 'a delivery without data');
  t.equal(code({ op: 'gap', topic: 'a', epoch: 'e', from: 5, to: 4, reason: 'conflation' }), 'bad_request', 'from above to');
  t.equal(code({ op: 'subscribed', id: 1, pattern: 'a..b' }), 'invalid_topic', 'an empty segment');
  t.equal(code({ op: 'nonsense' }), 'unknown_op');
  t.equal(code({ op: 'subscribed', id: 1, pattern: 'p.a', latest: { epoch: 'e', offset: 3, replayed: true } }), undefined, 'latest (§8.6)');
  t.equal(code({ op: 'subscribed', id: 1, pattern: 'p.a', latest: { epoch: 'e', offset: 3 } }), 'bad_request', 'latest without replayed');
  t.equal(code({ op: 'subscribed', id: 1, pattern: 'p.a', latest: { epoch: 'e', offset: -1, replayed: false } }), 'bad_request', 'latest at a negative offset');
  const limits = { maxMessageBytes: 10, chunkBytes: 20, maxFrameBytes: 5000, maxSubscriptions: 1, maxConcurrentTransfers: 1, maxIncompleteBytes: 10, chunkTimeoutMs: 1, idempotencyWindowMs: 0, tokenGraceMs: 0 };
  const welcome = decodeServerMessage(JSON.stringify({ op: 'welcome', protocol: 'pubsub.v1', connectionId: 'c', limits }));
  t.match(welcome, { ok: false, error: { code: 'bad_request', message: 'welcome.limits.maxMessageBytes: must be at least chunkBytes' } });
  const published = decodeServerMessage(JSON.stringify({ op: 'published', id: 7, epoch: 'not ascii é' }));
  t.match(published, { ok: false, id: 7, error: { code: 'bad_request' } }, 'the id is read even when the message is refused');
  const chunk = decodeServerMessage(sealEnvelope({ op: 'chunk', transfer: 3, index: 0, last: true }, new Uint8Array(1)));
  t.match(chunk, { ok: false, transfer: 3, error: { message: 'chunk.total: the first chunk must carry total' } });
});

t.test('the core decoder: the same answers for the core ops, unknown_op for those of protocol.md §13 and §14', async (t) => {
  const presenceOps = new Set(['presence', 'presence_stats', 'join', 'leave', 'presence_gap', 'server_subscribe']);
  let unknown = 0;
  fc.assert(
    fc.property(fc.oneof(validMessage, validPayloadMessage, brokenMessage), (sample) => {
      const data = wire(sample);
      const core = decodeCoreServerMessage(data);
      const full = decodeServerMessage(data);
      const header = sample.message['header'] as Json | undefined;
      if (presenceOps.has(sample.message['op'] as string)) {
        if (core.ok || core.error.code !== 'unknown_op') throw new Error(`not unknown_op: ${JSON.stringify(core)}`);
        unknown++;
      } else if (header?.['op'] === 'presence') {
        if (core.ok) throw new Error(`a chunked presence answer accepted: ${JSON.stringify(core)}`);
      } else if (core.ok || full.ok ? fc.stringify(core) !== fc.stringify(full) : core.error.code !== full.error.code || core.id !== full.id || core.transfer !== full.transfer) {
        throw new Error(`decoded differently: ${JSON.stringify(sample.message)}\ncore: ${JSON.stringify(core)}\nfull: ${JSON.stringify(full)}`);
      }
    }),
    { numRuns: 2000 },
  );
  t.ok(unknown > 100, `presence ops seen (${unknown})`);
});
