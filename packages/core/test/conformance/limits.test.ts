// Limits (Autobahn's category 9 sizes, and what a receiver does past its own limit): RFC 6455 §7.4.1 code
// 1009 for a message too big, decided at the frame header before any payload is buffered; both roles.
import t from 'tap';
import { Opcode } from '../../src/index.js';
import { pattern } from '../helpers/events.js';
import { runTable, type ConformanceCase, type Step } from './harness.js';

const LIMIT = 65536;
const TOO_BIG = 'RFC 6455 §7.4.1: 1009 "indicates that an endpoint is terminating the connection because it has received a message that is too big for it to process"';
const limited = { server: { maxMessageSize: LIMIT }, client: { maxMessageSize: LIMIT } };

const manySmall: Step[] = Array.from({ length: 1000 }, (_, i) => ({ opcode: Opcode.text, payload: `message ${i}` }));

const table: ConformanceCase[] = [
  {
    id: '9.1',
    title: `a message of exactly the limit (${LIMIT} bytes)`,
    rfc: 'RFC 6455 §5.6: a message within the receiver\'s limit is delivered',
    steps: [{ opcode: Opcode.binary, payload: pattern(LIMIT) }],
    expect: { frames: [{ opcode: Opcode.binary, payload: pattern(LIMIT) }], close: 1000 },
    ...limited,
  },
  {
    id: '9.2',
    title: 'a single frame one byte over the limit',
    rfc: TOO_BIG,
    steps: [{ opcode: Opcode.binary, payload: pattern(LIMIT + 1) }],
    expect: { close: 1009 },
    ...limited,
  },
  {
    id: '9.3',
    title: 'a fragmented text message that grows past the limit',
    rfc: TOO_BIG,
    steps: [
      { opcode: Opcode.text, payload: '*'.repeat(LIMIT / 2), fin: false },
      { opcode: Opcode.continuation, payload: '*'.repeat(LIMIT / 2), fin: false },
      { opcode: Opcode.continuation, payload: '*' },
    ],
    expect: { close: 1009 },
    ...limited,
  },
  {
    id: '9.4',
    title: 'a frame header announcing 2^40 bytes, with no payload sent',
    rfc: `${TOO_BIG}; the length alone decides, so the endpoint closes without waiting for a terabyte`,
    steps: [{ opcode: Opcode.binary, payload: '', announcedLength: 1n << 40n, lengthForm: 64 }],
    expect: { close: 1009 },
  },
  {
    id: '9.5',
    title: 'a frame header announcing 2^63 - 1 bytes',
    rfc: TOO_BIG,
    steps: [{ opcode: Opcode.binary, payload: '', announcedLength: (1n << 63n) - 1n, lengthForm: 64 }],
    expect: { close: 1009 },
  },
  {
    id: '9.6',
    title: 'a continuation header that would carry the message past the limit',
    rfc: `${TOO_BIG}; decided at the header of the frame that crosses the limit`,
    steps: [
      { opcode: Opcode.binary, payload: pattern(LIMIT), fin: false },
      { opcode: Opcode.continuation, payload: '', announcedLength: 1n << 30n, lengthForm: 64 },
    ],
    expect: { close: 1009 },
    ...limited,
  },
  {
    id: '9.7',
    title: '1000 small text messages back to back (Autobahn 9.7-like)',
    rfc: 'RFC 6455 §5.6: every message is delivered, in order',
    steps: manySmall,
    expect: { frames: Array.from({ length: 1000 }, (_, i) => ({ opcode: Opcode.text, payload: `message ${i}` })), close: 1000 },
  },
];

await runTable(t, table);
