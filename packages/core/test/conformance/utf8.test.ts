// Autobahn category 6 (UTF-8 handling): RFC 6455 §8.1 with Markus Kuhn's test vectors, each sent as one
// frame and as one fragment per byte (code points split across fragments), plus fail-fast; both roles.
import t from 'tap';
import { Opcode } from '../../src/index.js';
import { hex } from '../helpers/hex.js';
import { runTable, type ConformanceCase, type Step } from './harness.js';

const VALID = 'RFC 6455 §5.6: a text message of valid UTF-8 is delivered, however its code points fall across fragments';
const INVALID =
  'RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_"; §7.4.1: with 1007';

/** Valid UTF-8 (Kuhn's §2 boundaries; noncharacters are valid UTF-8). */
const valid: [string, string][] = [
  ['Greek "κόσμε"', 'ce ba e1 bd b9 cf 83 ce bc ce b5'],
  ['"Hello-µ@ßöäüàá-UTF-8!!"', Buffer.from('Hello-µ@ßöäüàá-UTF-8!!', 'utf8').toString('hex')],
  ['first code point of each length (U+0000, U+0080, U+0800, U+10000)', '00 c2 80 e0 a0 80 f0 90 80 80'],
  ['last code point of each length (U+007F, U+07FF, U+FFFF, U+10FFFF)', '7f df bf ef bf bf f4 8f bf bf'],
  ['around the surrogates (U+D7FF, U+E000) and U+FFFD', 'ed 9f bf ee 80 80 ef bf bd'],
  ['noncharacters U+FFFE and U+FFFF', 'ef bf be ef bf bf'],
  ['emoji and CJK "🚀 世界"', Buffer.from('🚀 世界', 'utf8').toString('hex')],
];

/** Invalid UTF-8 (Kuhn's §3 to §5). */
const invalid: [string, string][] = [
  ['"κόσμε" then a surrogate, then "edited"', 'ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64'],
  ['first 5-byte sequence', 'f8 88 80 80 80'],
  ['first 6-byte sequence', 'fc 84 80 80 80 80'],
  ['beyond U+10FFFF', 'f4 90 80 80'],
  ['largest 4-byte form', 'f7 bf bf bf'],
  ['lone continuation bytes', '80 bf'],
  ['a lone start byte followed by a space', 'c0 20'],
  ['3-byte start followed by a space', 'e0 20'],
  ['sequence missing its last byte (2 bytes)', 'df'],
  ['sequence missing its last byte (3 bytes)', 'ef bf'],
  ['sequence missing its last byte (4 bytes)', 'f4 8f bf'],
  ['incomplete sequences concatenated', 'c0 e0 80 f0 80 80 df ef bf f7 bf bf'],
  ['impossible bytes fe and ff', 'fe fe ff ff'],
  ['overlong "/" in 2 bytes', 'c0 af'],
  ['overlong "/" in 3 bytes', 'e0 80 af'],
  ['overlong "/" in 4 bytes', 'f0 80 80 af'],
  ['maximum overlong 2-byte', 'c1 bf'],
  ['maximum overlong 3-byte', 'e0 9f bf'],
  ['maximum overlong 4-byte', 'f0 8f bf bf'],
  ['overlong NUL', 'c0 80'],
  ['single high surrogate U+D800', 'ed a0 80'],
  ['single low surrogate U+DFFF', 'ed bf bf'],
  ['paired surrogates U+D800 U+DC00', 'ed a0 80 ed b0 80'],
];

function perByte(bytes: Buffer): Step[] {
  return [...bytes].map((byte, i) => ({ opcode: i === 0 ? Opcode.text : Opcode.continuation, payload: Buffer.from([byte]), fin: i === bytes.length - 1 }));
}

const greek = hex('ce ba e1 bd b9 cf 83 ce bc ce b5');

const table: ConformanceCase[] = [
  { id: '6.1.1', title: 'empty text message', rfc: VALID, steps: [{ opcode: Opcode.text }], expect: { frames: [{ opcode: Opcode.text }], close: 1000 } },
  {
    id: '6.1.2',
    title: 'empty text message in three empty fragments',
    rfc: VALID,
    steps: [{ opcode: Opcode.text, fin: false }, { opcode: Opcode.continuation, fin: false }, { opcode: Opcode.continuation }],
    expect: { frames: [{ opcode: Opcode.text }], close: 1000 },
  },
  ...valid.flatMap(([name, bytes], i): ConformanceCase[] => [
    {
      id: `6.2.${i + 1}`,
      title: `valid: ${name}`,
      rfc: VALID,
      steps: [{ opcode: Opcode.text, payload: hex(bytes) }],
      expect: { frames: [{ opcode: Opcode.text, payload: hex(bytes) }], close: 1000 },
    },
    {
      id: `6.3.${i + 1}`,
      title: `valid, one fragment per byte: ${name}`,
      rfc: VALID,
      steps: perByte(hex(bytes)),
      expect: { frames: [{ opcode: Opcode.text, payload: hex(bytes) }], close: 1000 },
    },
  ]),
  ...invalid.flatMap(([name, bytes], i): ConformanceCase[] => [
    { id: `6.5.${i + 1}`, title: `invalid: ${name}`, rfc: INVALID, steps: [{ opcode: Opcode.text, payload: hex(bytes) }], expect: { close: 1007 } },
    { id: `6.6.${i + 1}`, title: `invalid, one fragment per byte: ${name}`, rfc: INVALID, steps: perByte(hex(bytes)), expect: { close: 1007 } },
  ]),
  {
    id: '6.4.1',
    title: 'fail fast: valid fragment, then a fragment beyond U+10FFFF, and the message never finished',
    rfc: `${INVALID}; §8.1 fails "as soon as" the data is known invalid: the endpoint closes without waiting for the final fragment (it would otherwise answer the peer's close with 1000)`,
    steps: [
      { opcode: Opcode.text, payload: greek, fin: false },
      { opcode: Opcode.continuation, payload: hex('f4 90 80 80'), fin: false },
    ],
    expect: { close: 1007 },
  },
  {
    id: '6.4.2',
    title: 'fail fast: a start byte ends one fragment, a bad continuation byte begins the next, never finished',
    rfc: `${INVALID}; F4 may start a sequence, F4 90 cannot: known invalid at the second fragment`,
    steps: [
      { opcode: Opcode.text, payload: Buffer.concat([greek, hex('f4')]), fin: false },
      { opcode: Opcode.continuation, payload: hex('90 80 80'), fin: false },
    ],
    expect: { close: 1007 },
  },
  {
    id: '6.4.3',
    title: 'a 4-byte code point split 1+3 and 3+1 across fragments',
    rfc: VALID,
    steps: [
      { opcode: Opcode.text, payload: hex('f0'), fin: false },
      { opcode: Opcode.continuation, payload: hex('9f 9a 80 f0 9f 9a'), fin: false },
      { opcode: Opcode.continuation, payload: hex('80') },
    ],
    expect: { frames: [{ opcode: Opcode.text, payload: '🚀🚀' }], close: 1000 },
  },
  {
    id: '6.4.4',
    title: 'a message ending inside a code point split across fragments',
    rfc: INVALID,
    steps: [
      { opcode: Opcode.text, payload: hex('41 f0 9f'), fin: false },
      { opcode: Opcode.continuation, payload: hex('9a') },
    ],
    expect: { close: 1007 },
  },
];

await runTable(t, table);
