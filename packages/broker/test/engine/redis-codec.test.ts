import t from 'tap';
import { bodyTopic, decodeBody, encodeBody, offsetOfEntryId, parseChannelMessage } from '../../src/engine/redis-codec.js';
import { decodeMember, decodePresenceEntry, encodeMember } from '../../src/engine/redis-presence-codec.js';

t.test('body: a one-line JSON header, a newline, the payload as is', async (t) => {
  const body = encodeBody('a.b', { encoding: 'json', text: '{"x":"\\n"}' }, 'high', 'k-1');
  t.equal(body.toString(), '{"t":"a.b","p":"high","e":"json","k":"k-1"}\n{"x":"\\n"}');
  t.equal(bodyTopic(body), 'a.b');
  t.same(decodeBody(body, 7, 'e1', 1000), {
    topic: 'a.b',
    payload: { encoding: 'json', text: '{"x":"\\n"}' },
    priority: 'high',
    offset: 7,
    epoch: 'e1',
    time: 1000,
    idempotencyKey: 'k-1',
  });
});

t.test('binary payloads travel as bytes (no base64), newlines included, and are copied out', async (t) => {
  const bytes = new Uint8Array([0x0a, 0x00, 0xff, 0x0a, 0x20]);
  const body = encodeBody('cam.1', { encoding: 'binary', bytes }, 'low', undefined);
  t.equal(body.length, '{"t":"cam.1","p":"low","e":"binary"}\n'.length + bytes.length);
  const decoded = decodeBody(body, 1, 'e', 5);
  t.same(decoded?.payload.encoding === 'binary' ? [...decoded.payload.bytes] : undefined, [...bytes]);
  t.notOk(decoded !== undefined && 'idempotencyKey' in decoded);
  body.fill(0);
  t.same(decoded?.payload.encoding === 'binary' ? [...decoded.payload.bytes] : undefined, [...bytes], 'independent of the buffer');
});

t.test('channel message: "<offset> <epoch> <time> <body>"', async (t) => {
  const body = encodeBody('a', { encoding: 'json', text: '1' }, 'normal', undefined);
  const message = Buffer.concat([Buffer.from('42 abc-1 1700000000000 '), body]);
  const parsed = parseChannelMessage(message);
  t.match(parsed, { offset: 42, epoch: 'abc-1', time: 1_700_000_000_000 });
  t.same(parsed?.body, body);
});

t.test('anything else on our channels is ignored, not delivered', async (t) => {
  for (const text of ['', 'hello', '1 e', '1 e 2', 'x e 2 {}', '1  2 {}']) {
    const parsed = parseChannelMessage(Buffer.from(text));
    t.ok(parsed === undefined || decodeBody(parsed.body, parsed.offset, parsed.epoch, parsed.time) === undefined, JSON.stringify(text));
  }
  for (const header of ['{}', '[]', 'null', '{"t":1,"p":"normal","e":"json"}', '{"t":"a","p":"control","e":"json"}', '{"t":"a","p":"low","e":"text"}', '{"t":"a","p":"low","e":"json","k":3}']) {
    t.equal(decodeBody(Buffer.from(`${header}\n1`), 1, 'e', 1), undefined, header);
  }
  t.equal(bodyTopic(Buffer.from('no newline')), undefined);
});

t.test('stream entry ids name offsets', async (t) => {
  t.equal(offsetOfEntryId('12-0'), 12);
  t.equal(offsetOfEntryId('9007199254740991-0'), Number.MAX_SAFE_INTEGER);
  t.equal(offsetOfEntryId('x-0'), undefined);
  t.equal(offsetOfEntryId('99999999999999999-0'), undefined, 'beyond 2^53 is not a safe offset');
});

t.test('presence channel messages: "<offset>-<seq> <epoch> <time> <body>"', async (t) => {
  const parsed = parseChannelMessage(Buffer.from('42-3 abc-1 1700000000000 {"t":"a"}'));
  t.match(parsed, { offset: 42, seq: 3, epoch: 'abc-1', time: 1_700_000_000_000 });
  t.equal(parseChannelMessage(Buffer.from('42 e 1 {}'))?.seq, undefined, 'a publication has no seq');
  for (const text of ['42- e 1 {}', '-3 e 1 {}', '42-x e 1 {}', '42-3-1 e 1 {}']) t.equal(parseChannelMessage(Buffer.from(text)), undefined, text);
});

t.test('presence members: any user id, anonymous, with and without info', async (t) => {
  const members = [
    { connectionId: 'c1', user: 'a:b\nc', info: '{"n":"ü"}' },
    { connectionId: 'c2', user: 'ü' },
    { connectionId: 'c3', user: '' },
    { connectionId: 'c4', info: '{}' },
    { connectionId: 'c5' },
  ];
  for (const member of members) t.same(decodeMember(member.connectionId, encodeMember(member)), member, JSON.stringify(member));
  t.equal(encodeMember({ connectionId: 'c', user: 'ü', info: '{}' }), '2:ü{}', 'the length is in bytes, as Lua counts');
  for (const value of ['x', '9:ab', ':ab']) t.equal(decodeMember('c', value), undefined, value);
});

t.test('presence entry bodies', async (t) => {
  const at = [7, 3, 'e1', 1000] as const;
  t.same(decodePresenceEntry('{"t":"r","k":"j","c":"c1","u":"u","i":"{}","f":true}', ...at), {
    topic: 'r', offset: 7, seq: 3, epoch: 'e1', time: 1000, kind: 'join', member: { connectionId: 'c1', user: 'u', info: '{}' }, first: true,
  });
  t.match(decodePresenceEntry('{"t":"r","k":"l","c":"c1","l":false,"r":"expired"}', ...at), { kind: 'leave', last: false, reason: 'expired', member: { connectionId: 'c1' } });
  t.match(decodePresenceEntry('{"t":"r","k":"s","n":[3,1,2],"q":9}', ...at), { kind: 'stats', counts: { connections: 3, users: 1, anonymous: 2 }, coalesced: 9 });
  for (const body of ['', '{', 'null', '{"k":"j","c":"c","f":true}', '{"t":"r","k":"j","c":"c"}', '{"t":"r","k":"l","c":"c","l":true,"r":"gone"}', '{"t":"r","k":"s","n":[1,2],"q":0}', '{"t":"r","k":"x"}']) {
    t.equal(decodePresenceEntry(body, ...at), undefined, body);
  }
});
