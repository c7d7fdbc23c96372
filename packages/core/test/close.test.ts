import t from 'tap';
import { encodeClosePayload, isSendableCloseCode, parseClosePayload } from '../src/close.js';
import { ErrorCode, WebSocketError } from '../src/errors.js';
import { closeBody } from './helpers/frames.js';
import { hex, toHex } from './helpers/hex.js';

/** The outcome of parsing as plain data: a code and reason, or the error's codes. */
function parse(payload: Uint8Array): unknown {
  const result = parseClosePayload(payload);
  if (result instanceof WebSocketError) return { error: result.code, closeCode: result.closeCode };
  return result;
}

t.test('RFC 6455 §7.4: which close codes may be on the wire', async (t) => {
  const sendable = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
  const notSendable = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535, -1000, 1000.5, Number.NaN];
  for (const code of sendable) t.equal(isSendableCloseCode(code), true, `${code} is sendable`);
  for (const code of notSendable) t.equal(isSendableCloseCode(code), false, `${code} is not sendable`);
});

t.test('RFC 6455 §5.5.1: parsing a close body', async (t) => {
  t.test('empty body: no status, 1005', async (t) => {
    t.same(parse(hex('')), { code: 1005, reason: '' });
  });

  t.test('code only', async (t) => {
    t.same(parse(hex('03e8')), { code: 1000, reason: '' });
  });

  t.test('code and UTF-8 reason, multi-byte included', async (t) => {
    t.same(parse(closeBody(4000, 'bye κόσμε 😀')), { code: 4000, reason: 'bye κόσμε 😀' });
  });

  t.test('a reason taken from a view at an offset', async (t) => {
    const backing = Buffer.concat([hex('ffff'), closeBody(1001, 'away'), hex('ff')]);
    t.same(parse(backing.subarray(2, backing.length - 1)), { code: 1001, reason: 'away' });
  });

  t.test('1 byte: fails with 1002', async (t) => {
    t.same(parse(hex('03')), { error: ErrorCode.invalidClosePayload, closeCode: 1002 });
  });

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
    t.test(`code ${code}: fails with 1002`, async (t) => {
      t.same(parse(closeBody(code)), { error: ErrorCode.invalidCloseCode, closeCode: 1002 });
    });
  }

  t.test('reason that is not UTF-8: fails with 1007', async (t) => {
    t.same(parse(closeBody(1000, hex('ce ba e1 bd b9 cf 83 ce bc ce b5 f4 90 80 80'))), {
      error: ErrorCode.invalidUtf8,
      closeCode: 1007,
    });
  });

  t.test('reason cut inside a code point: fails with 1007', async (t) => {
    t.same(parse(closeBody(1000, hex('ce'))), { error: ErrorCode.invalidUtf8, closeCode: 1007 });
  });

  t.test('a byte-order mark in the reason is kept', async (t) => {
    t.same(parse(closeBody(1000, hex('ef bb bf 41'))), { code: 1000, reason: '\ufeffA' });
  });
});

t.test('RFC 6455 §5.5.1: encoding a close body', async (t) => {
  t.test('no code: empty body', async (t) => {
    t.equal(toHex(encodeClosePayload(undefined)), '');
  });

  t.test('code and reason', async (t) => {
    t.equal(toHex(encodeClosePayload(1000, 'ok')), '03 e8 6f 6b');
  });

  t.test('a 123-byte reason fills the 125-byte control payload', async (t) => {
    t.equal(encodeClosePayload(1000, 'é'.repeat(61) + 'a').length, 125);
  });

  const invalid: [string, () => unknown][] = [
    ['a reason without a code', () => encodeClosePayload(undefined, 'why')],
    ['a 124-byte reason', () => encodeClosePayload(1000, 'a'.repeat(124))],
    ['62 two-byte characters (124 bytes)', () => encodeClosePayload(1000, 'é'.repeat(62))],
    ['the reserved 1005', () => encodeClosePayload(1005)],
    ['the reserved 1006', () => encodeClosePayload(1006)],
    ['an unassigned 2999', () => encodeClosePayload(2999)],
    ['5000', () => encodeClosePayload(5000)],
  ];
  for (const [name, call] of invalid) {
    t.test(`${name}: throws ${ErrorCode.invalidArgument}`, async (t) => {
      t.throws(call, { code: ErrorCode.invalidArgument });
    });
  }

  t.test('round trip through the parser for every sendable code', async (t) => {
    let mismatches = 0;
    for (let code = 0; code < 5100; code++) {
      if (!isSendableCloseCode(code)) continue;
      const parsed = parseClosePayload(encodeClosePayload(code, 'r'));
      if (parsed instanceof WebSocketError || parsed.code !== code || parsed.reason !== 'r') mismatches++;
    }
    t.equal(mismatches, 0);
  });
});
