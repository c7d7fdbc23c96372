import fc from 'fast-check';
import t from 'tap';
import {
  type ClientMessage,
  PROTOCOL_ERROR_CODES,
  ProtocolErrorCode,
  type ServerMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeBinary,
  encodeMessage,
  encodeText,
} from '../src/index.js';
import { fromHex, hex, rawBinary } from './helpers/fixtures.js';

const utf8 = (text: string) => new TextEncoder().encode(text);

t.test('text form: exact encodings (protocol.md §3)', async (t) => {
  t.equal(encodeText({ op: 'subscribe', id: 1, pattern: 'orders.eu.*' }), '{"op":"subscribe","id":1,"pattern":"orders.eu.*"}');
  t.equal(
    encodeText({ data: { qty: 2 }, op: 'publish', topic: 'orders.eu.1', priority: 'normal' }),
    '{"op":"publish","topic":"orders.eu.1","priority":"normal","data":{"qty":2}}',
    'data goes last whatever the key order given',
  );
  t.equal(encodeText({ op: 'publish', topic: 'a', priority: 'low', data: null }), '{"op":"publish","topic":"a","priority":"low","data":null}');
  t.equal(encodeText({ op: 'publish', topic: 'a', priority: 'high', data: 'x"y' }), '{"op":"publish","topic":"a","priority":"high","data":"x\\"y"}');
  t.equal(
    encodeText({ op: 'message', topic: 'a.b', priority: 'normal', offset: 42, epoch: 'e7f3', data: [1, 'two'] }),
    '{"op":"message","topic":"a.b","priority":"normal","offset":42,"epoch":"e7f3","data":[1,"two"]}',
  );
  t.equal(
    encodeText({ op: 'error', id: 1, code: 'forbidden', message: 'no' }),
    '{"op":"error","id":1,"code":"forbidden","message":"no"}',
  );
  t.equal(encodeText({ op: 'cancel', transfer: 12 }), '{"op":"cancel","transfer":12}');
  t.throws(() => encodeText({ op: 'publish', topic: 'a', priority: 'low', data: new Uint8Array(1) }), TypeError);
  t.throws(() => encodeText({ op: 'publish', topic: 'a', priority: 'low', data: undefined as never }), TypeError);
});

t.test('binary form: exact bytes of the protocol.md §3 example', async (t) => {
  const expected = fromHex(`
    00 00 00 31
    7b 22 6f 70 22 3a 22 70 75 62 6c 69 73 68 22 2c
    22 74 6f 70 69 63 22 3a 22 63 61 6d 2e 31 22 2c
    22 70 72 69 6f 72 69 74 79 22 3a 22 6c 6f 77 22
    7d
    01 02 03`);
  const encoded = encodeBinary({ op: 'publish', topic: 'cam.1', priority: 'low' }, new Uint8Array([1, 2, 3]));
  t.equal(hex(encoded), hex(expected));
  t.equal(hex(encodeMessage({ op: 'publish', topic: 'cam.1', priority: 'low', data: new Uint8Array([1, 2, 3]) }) as Uint8Array), hex(expected));
  const decoded = decodeClientMessage(expected);
  t.same(decoded, { ok: true, message: { op: 'publish', topic: 'cam.1', priority: 'low', data: new Uint8Array([1, 2, 3]) } });
  t.equal(hex(encodeBinary({ op: 'publish', topic: 'a', priority: 'low' }, new Uint8Array(0))).slice(-2), '7d', 'an empty payload ends right after the header');
  t.throws(() => encodeBinary({ op: 'publish', topic: 'a', priority: 'low', key: 'k'.repeat(5000) }, new Uint8Array(0)), RangeError);
  t.throws(() => encodeBinary({ op: 'publish', topic: 'a', priority: 'low', data: 1 } as never, new Uint8Array(0)), TypeError);
  t.type(encodeMessage({ op: 'publish', topic: 'a', priority: 'low', data: 'text' }), 'string', 'JSON data stays text');
});

t.test('binary payloads are not copied or inflated, from any view and from ArrayBuffer', async (t) => {
  const message = encodeBinary({ op: 'message', topic: 't', priority: 'normal', offset: 1, epoch: 'e' }, new Uint8Array([9, 8, 7]));
  // A pooled Node Buffer is a view at an offset into a larger ArrayBuffer.
  const pool = new Uint8Array(message.length + 10);
  pool.set(message, 7);
  const view = pool.subarray(7, 7 + message.length);
  for (const input of [view, message.slice().buffer, message]) {
    const decoded = decodeServerMessage(input);
    t.ok(decoded.ok);
    if (decoded.ok && decoded.message.op === 'message') t.same(Array.from(decoded.message.data as Uint8Array), [9, 8, 7]);
  }
  t.equal(message.length, 4 + JSON.stringify({ op: 'message', topic: 't', priority: 'normal', offset: 1, epoch: 'e' }).length + 3);
});

t.test('binary form: every truncation point of a message gives its documented outcome', async (t) => {
  const full = encodeBinary({ op: 'publish', topic: 'cam.1', priority: 'low' }, new Uint8Array([1, 2, 3]));
  const headerEnd = 4 + 0x31;
  for (let length = 0; length <= full.length; length++) {
    const decoded = decodeClientMessage(full.subarray(0, length));
    if (length < 4) {
      t.match(decoded, { ok: false, error: { code: 'malformed', message: /shorter than its 4-byte header length/ } }, `${length} bytes`);
    } else if (length < headerEnd) {
      t.match(decoded, { ok: false, error: { code: 'malformed', message: /exceeds the \d+ bytes after it/ } }, `${length} bytes`);
    } else {
      t.ok(decoded.ok, `${length} bytes: a shorter payload is still a message`);
      if (decoded.ok && decoded.message.op === 'publish') t.equal((decoded.message.data as Uint8Array).length, length - headerEnd);
    }
  }
});

type Expected = { code: ProtocolErrorCode; id?: number; transfer?: number };

function binaryWithHeader(header: unknown, payload = new Uint8Array([1])): Uint8Array {
  const headerBytes = utf8(JSON.stringify(header));
  const body = new Uint8Array(headerBytes.length + payload.length);
  body.set(headerBytes);
  body.set(payload, headerBytes.length);
  return rawBinary(headerBytes.length, body);
}

t.test('server receives bad input: each gets its error code (protocol.md §10)', async (t) => {
  const cases: [name: string, input: string | Uint8Array, expected: Expected][] = [
    ['not JSON', 'nope', { code: 'malformed' }],
    ['empty text', '', { code: 'malformed' }],
    ['truncated JSON', '{"op":"ping","id":1', { code: 'malformed' }],
    ['a JSON array', '[{"op":"ping","id":1}]', { code: 'malformed' }],
    ['JSON null', 'null', { code: 'malformed' }],
    ['a JSON string', '"ping"', { code: 'malformed' }],
    ['no op', '{"id":1}', { code: 'bad_request', id: 1 }],
    ['a numeric op', '{"op":5,"id":1}', { code: 'bad_request', id: 1 }],
    ['an unknown op', '{"op":"frobnicate","id":2}', { code: 'unknown_op', id: 2 }],
    ['a server op', '{"op":"welcome"}', { code: 'unknown_op' }],
    ['a prototype method name as op', '{"op":"toString"}', { code: 'unknown_op' }],
    ['__proto__ as op', '{"op":"__proto__"}', { code: 'unknown_op' }],
    ['a chunk as text', '{"op":"chunk","transfer":4,"index":1,"last":true}', { code: 'bad_request', transfer: 4 }],
    ['subscribe without id', '{"op":"subscribe","pattern":"a"}', { code: 'bad_request' }],
    ['id 0', '{"op":"ping","id":0}', { code: 'bad_request' }],
    ['negative id', '{"op":"ping","id":-1}', { code: 'bad_request' }],
    ['fractional id', '{"op":"ping","id":1.5}', { code: 'bad_request' }],
    ['id beyond 2^53-1', '{"op":"ping","id":9007199254740992}', { code: 'bad_request' }],
    ['string id', '{"op":"ping","id":"1"}', { code: 'bad_request' }],
    ['publish without data', '{"op":"publish","id":3,"topic":"a"}', { code: 'bad_request', id: 3 }],
    ['publish with an unknown priority', '{"op":"publish","id":3,"topic":"a","priority":"urgent","data":1}', { code: 'bad_request', id: 3 }],
    ['publish with control priority', '{"op":"publish","topic":"a","priority":"control","data":1}', { code: 'bad_request' }],
    ['publish with a 129-character key', `{"op":"publish","topic":"a","key":"${'k'.repeat(129)}","data":1}`, { code: 'bad_request' }],
    ['publish with a key containing a space', '{"op":"publish","topic":"a","key":"a b","data":1}', { code: 'bad_request' }],
    ['publish to a pattern', '{"op":"publish","id":5,"topic":"orders.*","data":1}', { code: 'invalid_topic', id: 5 }],
    ['publish to an empty segment', '{"op":"publish","topic":"a..b","data":1}', { code: 'invalid_topic' }],
    ['publish to a numeric topic', '{"op":"publish","topic":7,"data":1}', { code: 'bad_request' }],
    ['subscribe to an invalid pattern', '{"op":"subscribe","id":6,"pattern":"a.>.b"}', { code: 'invalid_topic', id: 6 }],
    [
      'subscribe with since naming a topic the pattern does not match',
      '{"op":"subscribe","id":7,"pattern":"orders.*","since":{"users.1":{"offset":1,"epoch":"e"}}}',
      { code: 'invalid_topic', id: 7 },
    ],
    [
      'subscribe with since naming a pattern',
      '{"op":"subscribe","id":7,"pattern":"orders.>","since":{"orders.*":{"offset":1,"epoch":"e"}}}',
      { code: 'invalid_topic', id: 7 },
    ],
    ['subscribe with a negative since offset', '{"op":"subscribe","id":8,"pattern":"a","since":{"a":{"offset":-1,"epoch":"e"}}}', { code: 'bad_request', id: 8 }],
    ['subscribe with an empty epoch', '{"op":"subscribe","id":8,"pattern":"a","since":{"a":{"offset":1,"epoch":""}}}', { code: 'bad_request', id: 8 }],
    ['subscribe with a 65-character epoch', `{"op":"subscribe","id":8,"pattern":"a","since":{"a":{"offset":1,"epoch":"${'e'.repeat(65)}"}}}`, { code: 'bad_request', id: 8 }],
    ['refresh with an empty token', '{"op":"refresh","id":9,"token":""}', { code: 'bad_request', id: 9 }],
    // Presence (protocol.md §13).
    ['subscribe with presence on a wildcard pattern', '{"op":"subscribe","id":10,"pattern":"chat.*","presence":"user"}', { code: 'invalid_topic', id: 10 }],
    ['subscribe with an unknown presence level', '{"op":"subscribe","id":10,"pattern":"chat.a","presence":"all"}', { code: 'bad_request', id: 10 }],
    ['subscribe with a negative since seq', '{"op":"subscribe","id":10,"pattern":"a","since":{"a":{"offset":1,"epoch":"e","seq":-1}}}', { code: 'bad_request', id: 10 }],
    ['presence of a pattern', '{"op":"presence","id":11,"topic":"chat.>"}', { code: 'invalid_topic', id: 11 }],
    ['presence_stats without id', '{"op":"presence_stats","topic":"chat.a"}', { code: 'bad_request' }],
    ['a server-only presence op', '{"op":"join","topic":"a","epoch":"e","offset":0,"seq":1,"connection":"c","first":true}', { code: 'unknown_op' }],
    ['cancel of transfer 0', '{"op":"cancel","transfer":0}', { code: 'bad_request' }],
    // Binary framing.
    ['3 bytes', new Uint8Array([0, 0, 0]), { code: 'malformed' }],
    ['header length 0', rawBinary(0, utf8('{}')), { code: 'malformed' }],
    ['header length 4097', rawBinary(4097, new Uint8Array(5000)), { code: 'header_too_big' }],
    ['header length 2^32-1', rawBinary(0xffffffff, new Uint8Array(10)), { code: 'header_too_big' }],
    ['header length beyond the message', rawBinary(10, utf8('{"op":1}')), { code: 'malformed' }],
    ['a header that is not UTF-8', rawBinary(3, new Uint8Array([0x7b, 0xff, 0x7d])), { code: 'malformed' }],
    ['a header that is not JSON', rawBinary(3, utf8('{op')), { code: 'malformed' }],
    ['a header that is a JSON array', rawBinary(2, utf8('[]')), { code: 'malformed' }],
    ['a binary header with an unknown op', binaryWithHeader({ op: 'frobnicate', id: 2 }), { code: 'unknown_op', id: 2 }],
    ['subscribe in binary form', binaryWithHeader({ op: 'subscribe', id: 3, pattern: 'a' }), { code: 'bad_request', id: 3 }],
    ['a binary publish whose header has data', binaryWithHeader({ op: 'publish', id: 4, topic: 'a', data: 1 }), { code: 'bad_request', id: 4 }],
    ['a binary publish to a pattern', binaryWithHeader({ op: 'publish', id: 4, topic: 'a.>' }), { code: 'invalid_topic', id: 4 }],
    ['a first chunk without total', binaryWithHeader({ op: 'chunk', transfer: 5, index: 0, last: false, encoding: 'binary', header: { op: 'publish', topic: 'a' } }), { code: 'bad_request', transfer: 5 }],
    ['a first chunk without header', binaryWithHeader({ op: 'chunk', transfer: 5, index: 0, last: false, total: 9, encoding: 'binary' }), { code: 'bad_request', transfer: 5 }],
    ['a later chunk with a header', binaryWithHeader({ op: 'chunk', transfer: 5, index: 1, last: false, header: { op: 'publish', topic: 'a' } }), { code: 'bad_request', transfer: 5 }],
    ['a later chunk with total', binaryWithHeader({ op: 'chunk', transfer: 5, index: 2, last: true, total: 3 }), { code: 'bad_request', transfer: 5 }],
    ['a chunk with an unknown encoding', binaryWithHeader({ op: 'chunk', transfer: 5, index: 0, last: true, total: 1, encoding: 'base64', header: { op: 'publish', topic: 'a' } }), { code: 'bad_request', transfer: 5 }],
    ['a chunk with a negative index', binaryWithHeader({ op: 'chunk', transfer: 5, index: -1, last: true }), { code: 'bad_request', transfer: 5 }],
    ['a chunk with transfer 0', binaryWithHeader({ op: 'chunk', transfer: 0, index: 1, last: true }), { code: 'bad_request' }],
    [
      'a first chunk whose publish names a pattern',
      binaryWithHeader({ op: 'chunk', transfer: 6, index: 0, last: false, total: 9, encoding: 'json', header: { op: 'publish', id: 11, topic: 'a.*' } }),
      { code: 'invalid_topic', id: 11, transfer: 6 },
    ],
    [
      'a first chunk from a client carrying a delivery',
      binaryWithHeader({ op: 'chunk', transfer: 6, index: 0, last: false, total: 9, encoding: 'json', header: { op: 'message', topic: 'a', priority: 'low', offset: 1, epoch: 'e' } }),
      { code: 'bad_request', transfer: 6 },
    ],
  ];
  for (const [name, input, expected] of cases) {
    const decoded = decodeClientMessage(input);
    t.same(
      decoded.ok ? decoded : { code: decoded.error.code, id: decoded.id, transfer: decoded.transfer },
      { code: expected.code, id: expected.id, transfer: expected.transfer },
      `server receives ${name}: ${expected.code}`,
    );
    if (!decoded.ok) t.ok(decoded.error.message.length > 0, 'with a message for humans');
  }
});

t.test('client receives bad input: each gets its error code', async (t) => {
  const welcome = {
    op: 'welcome',
    protocol: 'pubsub.v1',
    connectionId: 'c1',
    limits: {
      maxMessageBytes: 1000,
      chunkBytes: 100,
      maxFrameBytes: 100 + 4 + 4096,
      maxSubscriptions: 10,
      maxConcurrentTransfers: 2,
      maxIncompleteBytes: 1000,
      chunkTimeoutMs: 1000,
      idempotencyWindowMs: 0,
      tokenGraceMs: 0,
    },
  };
  t.ok(decodeServerMessage(JSON.stringify(welcome)).ok, 'the baseline welcome is valid');
  const withLimits = (limits: object) => JSON.stringify({ ...welcome, limits: { ...welcome.limits, ...limits } });
  const cases: [name: string, input: string | Uint8Array, code: ProtocolErrorCode][] = [
    ['a welcome for another protocol', JSON.stringify({ ...welcome, protocol: 'pubsub.v2' }), 'bad_request'],
    ['a welcome whose chunk does not fit a frame', withLimits({ maxFrameBytes: 100 }), 'bad_request'],
    ['a welcome with maxMessageBytes below chunkBytes', withLimits({ maxMessageBytes: 50, maxIncompleteBytes: 50 }), 'bad_request'],
    ['a welcome with maxIncompleteBytes below maxMessageBytes', withLimits({ maxIncompleteBytes: 999 }), 'bad_request'],
    ['a client op', '{"op":"publish","topic":"a","data":1}', 'unknown_op'],
    ['a delivery without priority', '{"op":"message","topic":"a","offset":1,"epoch":"e","data":1}', 'bad_request'],
    ['a delivery at offset 0', '{"op":"message","topic":"a","priority":"low","offset":0,"epoch":"e","data":1}', 'bad_request'],
    ['a delivery to a pattern', '{"op":"message","topic":"a.*","priority":"low","offset":1,"epoch":"e","data":1}', 'invalid_topic'],
    ['a gap whose from is after to', '{"op":"gap","topic":"a","epoch":"e","from":5,"to":4,"reason":"conflation"}', 'bad_request'],
    ['a gap with an unknown reason', '{"op":"gap","topic":"a","epoch":"e","from":1,"to":4,"reason":"cosmic_rays"}', 'bad_request'],
    ['a recovery with an unknown status', '{"op":"subscribed","id":1,"pattern":"a","recovery":{"a":{"status":"maybe","epoch":"e","offset":1}}}', 'bad_request'],
    ['an error without code', '{"op":"error","message":"x"}', 'bad_request'],
    ['an error with an empty code', '{"op":"error","code":"","message":"x"}', 'bad_request'],
    ['a binary subscribed', binaryWithHeader({ op: 'subscribed', id: 1, pattern: 'a' }), 'bad_request'],
    ['a welcome whose server-side subscription is no pattern', JSON.stringify({ ...welcome, subscriptions: ['a..b'] }), 'invalid_topic'],
    ['a welcome with an empty user', JSON.stringify({ ...welcome, user: '' }), 'bad_request'],
    ['a presence recovery with an unknown status', '{"op":"subscribed","id":1,"pattern":"a","recovery":{"a":{"status":"recovered","epoch":"e","offset":1,"presence":{"status":"maybe","seq":1}}}}', 'bad_request'],
    ['a join on a pattern', '{"op":"join","topic":"a.*","epoch":"e","offset":0,"seq":1,"connection":"c","first":true}', 'invalid_topic'],
    ['a leave with an unknown reason', '{"op":"leave","topic":"a","epoch":"e","offset":0,"seq":1,"connection":"c","last":true,"reason":"vanished"}', 'bad_request'],
    ['a presence_gap with a gap reason', '{"op":"presence_gap","topic":"a","epoch":"e","seq":1,"reason":"conflation"}', 'bad_request'],
    ['a presence answer without stats', '{"op":"presence","id":1,"topic":"a","epoch":"e","offset":0,"seq":0,"truncated":true}', 'bad_request'],
  ];
  for (const [name, input, code] of cases) {
    const decoded = decodeServerMessage(input);
    t.equal(decoded.ok ? 'ok' : decoded.error.code, code, `client receives ${name}: ${code}`);
  }
});

t.test('forward compatibility (protocol.md §1)', async (t) => {
  const error = decodeServerMessage('{"op":"error","id":3,"code":"quota_exceeded","message":"new in v1.3"}');
  t.same(error, { ok: true, message: { op: 'error', id: 3, code: 'quota_exceeded', message: 'new in v1.3' } }, 'an error code added later still settles the request');
  const extra = decodeClientMessage('{"op":"ping","id":1,"trace":"abc"}');
  t.same(extra, { ok: true, message: { op: 'ping', id: 1 } }, 'unknown fields are ignored');
  t.same(decodeClientMessage('{"op":"publish","topic":"a","data":1}'), { ok: true, message: { op: 'publish', topic: 'a', priority: 'normal', data: 1 } }, 'priority defaults to normal');
});

t.test('every message survives encode then decode', async (t) => {
  const serverLimits = { maxMessageBytes: 1000, chunkBytes: 100, maxFrameBytes: 4200, maxSubscriptions: 10, maxConcurrentTransfers: 2, maxIncompleteBytes: 1000, chunkTimeoutMs: 1000, idempotencyWindowMs: 0, tokenGraceMs: 0 };
  const client: ClientMessage[] = [
    { op: 'subscribe', id: 1, pattern: 'orders.>', since: { 'orders.eu.1': { offset: 41, epoch: 'e7f3' } } },
    { op: 'unsubscribe', id: 2, pattern: 'orders.>' },
    { op: 'publish', id: 3, topic: 'a.b', priority: 'high', key: 'k-1', data: { nested: [1, null, 'x'] } },
    { op: 'publish', topic: 'a.b', priority: 'low', data: new Uint8Array([0, 255]) },
    { op: 'refresh', id: 4, token: 'abc.def.ghi' },
    { op: 'ping', id: 5 },
    { op: 'cancel', transfer: 6 },
    { op: 'chunk', transfer: 7, index: 0, last: false, total: 10, encoding: 'json', header: { op: 'publish', topic: 'a', priority: 'normal' }, data: utf8('"01234') },
    { op: 'chunk', transfer: 7, index: 1, last: true, data: utf8('567"') },
    { op: 'subscribe', id: 8, pattern: 'chat.room1', presence: 'connection', since: { 'chat.room1': { offset: 41, epoch: 'e7f3', seq: 17 } } },
    { op: 'presence', id: 9, topic: 'chat.room1' },
    { op: 'presence_stats', id: 10, topic: 'chat.room1' },
  ];
  for (const message of client) t.same(decodeClientMessage(encodeMessage(message)), { ok: true, message }, `client ${message.op}`);
  const server: ServerMessage[] = [
    { op: 'subscribed', id: 2, pattern: 'orders.>', recovery: { 'orders.eu.1': { status: 'failed', reason: 'expired', epoch: 'e7f3', offset: 210 } } },
    { op: 'unsubscribed', pattern: 'orders.>', code: 'forbidden' },
    { op: 'published', id: 4, offset: 1042, epoch: 'e7f3', duplicate: true },
    { op: 'refreshed', id: 5, tokenExpiresAt: 1767229200000 },
    { op: 'pong', id: 6 },
    { op: 'message', topic: 'a.b', priority: 'normal', offset: 42, epoch: 'e7f3', data: 'hello' },
    { op: 'message', topic: 'a.b', priority: 'low', offset: 43, epoch: 'e7f3', data: new Uint8Array([1, 2, 3]) },
    { op: 'gap', topic: 'a.b', epoch: 'e7f3', from: 118, to: 131, reason: 'slow_consumer' },
    { op: 'error', code: 'rate_limited', message: 'slow down', topic: 'a.b', retryAfterMs: 250 },
    { op: 'cancel', transfer: 907 },
    { op: 'chunk', transfer: 907, index: 3, last: true, data: new Uint8Array([4]) },
    { op: 'welcome', protocol: 'pubsub.v1', connectionId: 'c_1', limits: serverLimits, capabilities: ['presence', 'later'], user: 'alice', userTopicPrefix: 'user', subscriptions: ['user.alice'] },
    { op: 'subscribed', id: 7, pattern: 'chat.a', server: true, recovery: { 'chat.a': { status: 'recovered', epoch: 'e', offset: 3, presence: { status: 'failed', reason: 'expired', seq: 23 } } } },
    { op: 'presence', id: 8, topic: 'chat.a', epoch: 'e', offset: 42, seq: 17, stats: { connections: 2, users: 1, anonymous: 1 }, truncated: false, data: { users: { alice: { c_1: { name: 'A' } } }, anonymous: { c_2: null } } },
    { op: 'presence', id: 9, topic: 'chat.a', epoch: 'e', offset: 42, seq: 17, stats: { connections: 5000, users: 4000, anonymous: 0 }, truncated: true },
    { op: 'presence_stats', topic: 'chat.a', epoch: 'e', offset: 57, seq: 120, connections: 812, users: 790, anonymous: 0, coalesced: 57 },
    { op: 'join', topic: 'chat.a', epoch: 'e', offset: 42, seq: 18, connection: 'c_1', user: 'alice', info: { name: 'A' }, first: true },
    { op: 'leave', topic: 'chat.a', epoch: 'e', offset: 42, seq: 19, connection: 'c_2', last: true, reason: 'expired' },
    { op: 'presence_gap', topic: 'chat.a', epoch: 'e', seq: 131, reason: 'engine_outage' },
    { op: 'server_subscribe', pattern: 'chat.support.*' },
  ];
  for (const message of server) t.same(decodeServerMessage(encodeMessage(message)), { ok: true, message }, `server ${message.op}`);
});

t.test('decoding never throws on garbage', async (t) => {
  const codes = new Set<string>(PROTOCOL_ERROR_CODES);
  const decoders = [decodeClientMessage, decodeServerMessage];
  const settles = (input: string | Uint8Array) =>
    decoders.every((decode) => {
      const decoded = decode(input);
      return decoded.ok || codes.has(decoded.error.code);
    });
  fc.assert(fc.property(fc.string(), settles), { numRuns: 2000 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), settles), { numRuns: 2000 });
  fc.assert(fc.property(fc.json(), (json) => settles(json)), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.constantFrom(...['publish', 'subscribe', 'chunk', 'message', 'welcome', 'gap']), (fields, op) =>
      settles(JSON.stringify({ ...fields, op })) && settles(binaryWithHeader({ ...fields, op })),
    ),
    { numRuns: 2000 },
  );
  t.pass('every input decoded or failed with a documented code');
});

t.test('error messages say what is wrong and where', async (t) => {
  const cases: [input: string, message: RegExp][] = [
    ['{"op":"ping"}', /^ping\.id: must be number$/],
    ['{"op":"ping","id":0}', /^ping\.id: must be at least 1$/],
    ['{"op":"publish","topic":"a","priority":"urgent","data":1}', /^publish\.priority: must be one of "high", "normal", "low"$/],
    ['{"op":"publish","topic":"a"}', /^publish\.data: data is required$/],
    [`{"op":"publish","topic":"a","key":"${'k'.repeat(129)}","data":1}`, /^publish\.key: must be at most 128 characters$/],
    ['{"op":"publish","topic":"a..b","data":1}', /^publish\.topic: topic "a\.\.b": segment 2 is empty/],
  ];
  for (const [input, message] of cases) {
    const decoded = decodeClientMessage(input);
    t.match(decoded.ok ? 'ok' : decoded.error.message, message, input.slice(0, 50));
  }
});
