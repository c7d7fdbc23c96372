// Autobahn category 7 (close handling): RFC 6455 §5.5.1, §7.1 and §7.4: the closing handshake, close
// payloads, every defined close code and the invalid ranges around them, in both roles.
import t from 'tap';
import { Opcode } from '../../src/index.js';
import { closeBody } from '../helpers/frames.js';
import { hex } from '../helpers/hex.js';
import { runTable, type ConformanceCase } from './harness.js';

const ANSWER =
  'RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response ... typically echoing the status code it received"; after it nothing more is sent, and the TCP connection ends (§7.1.1)';
const AFTER_CLOSE = `${ANSWER}; frames after the peer's close frame are not read (§1.4: the peer sends nothing more)`;
const VALID_CODE = 'RFC 6455 §7.4.1/§7.4.2 and the IANA registry: a defined code, or one of the 3000-4999 ranges, is accepted and echoed';
const INVALID_CODE =
  'RFC 6455 §7.4.1: 1004, 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control frame"; §7.4.2: codes below 1000 are not used and unassigned 1000-2999 codes may not be sent: a protocol error (1002)';

const close = (code: number, reason: string | Uint8Array = ''): { opcode: number; payload: Buffer } => ({ opcode: Opcode.close, payload: closeBody(code, reason) });

/** Every code RFC 6455 or the IANA registry defines for the wire, and the edges of the private ranges. */
const validCodes = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3001, 3999, 4000, 4001, 4999];
/** Below 1000; reserved 1004-1006 and 1015; unassigned 1016-2999; above 4999. */
const invalidCodes = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

const table: ConformanceCase[] = [
  {
    id: '7.1.1',
    title: 'text, then close 1000',
    rfc: ANSWER,
    steps: [{ opcode: Opcode.text, payload: 'Hello World!' }, { awaitFrames: 1 }, close(1000)],
    expect: { frames: [{ opcode: Opcode.text, payload: 'Hello World!' }], close: 1000 },
  },
  { id: '7.1.2', title: 'close, then a second close', rfc: AFTER_CLOSE, steps: [close(1000), close(1000)], expect: { close: 1000 } },
  { id: '7.1.3', title: 'close, then a ping', rfc: AFTER_CLOSE, steps: [close(1000), { opcode: Opcode.ping, payload: 'Hello' }], expect: { close: 1000 } },
  { id: '7.1.4', title: 'close, then text', rfc: AFTER_CLOSE, steps: [close(1000), { opcode: Opcode.text, payload: 'Hello' }], expect: { close: 1000 } },
  {
    id: '7.1.5',
    title: 'first fragment, close, last fragment',
    rfc: AFTER_CLOSE,
    steps: [{ opcode: Opcode.text, payload: 'fragment1', fin: false }, close(1000), { opcode: Opcode.continuation, payload: 'fragment2' }],
    expect: { close: 1000 },
  },
  {
    id: '7.3.1',
    title: 'close with an empty payload',
    rfc: 'RFC 6455 §5.5.1: the body is optional; the answer carries no code either (the API reports 1005, §7.1.5)',
    steps: [{ opcode: Opcode.close }],
    expect: { close: null, reported: 1005 },
  },
  {
    id: '7.3.2',
    title: 'close with a 1-byte payload',
    rfc: 'RFC 6455 §5.5.1: a body "MUST start with a two-byte unsigned integer": one byte is a protocol error (1002)',
    steps: [{ opcode: Opcode.close, payload: hex('03') }],
    expect: { close: 1002 },
  },
  { id: '7.3.3', title: 'close 1000 without a reason', rfc: ANSWER, steps: [close(1000)], expect: { close: 1000 } },
  { id: '7.3.4', title: 'close 1000 with a short reason', rfc: ANSWER, steps: [close(1000, 'Hello World!')], expect: { close: 1000 } },
  {
    id: '7.3.5',
    title: 'close 1000 with a 123-byte reason (the largest)',
    rfc: `${ANSWER}; §5.5: 125 payload bytes, 2 of them the code`,
    steps: [close(1000, '*'.repeat(123))],
    expect: { close: 1000 },
  },
  {
    id: '7.3.6',
    title: 'close 1000 with a 124-byte reason',
    rfc: 'RFC 6455 §5.5: a control frame payload over 125 bytes is a protocol error (1002)',
    steps: [close(1000, '*'.repeat(124))],
    expect: { close: 1002 },
  },
  {
    id: '7.5.1',
    title: 'close 1000 with a reason that is not UTF-8',
    rfc: 'RFC 6455 §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails the connection with 1007',
    steps: [close(1000, hex('ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64'))],
    expect: { close: 1007 },
  },
  {
    id: '7.5.2',
    title: 'close 1000 with a multi-byte UTF-8 reason',
    rfc: ANSWER,
    steps: [close(1000, 'κόσμε 🚀')],
    expect: { close: 1000 },
  },
  ...validCodes.map((code): ConformanceCase => ({
    id: `7.7.${code}`,
    title: `close with valid code ${code}`,
    rfc: VALID_CODE,
    steps: [close(code, 'reason')],
    expect: { close: code },
  })),
  ...invalidCodes.map((code): ConformanceCase => ({
    id: `7.9.${code}`,
    title: `close with invalid code ${code}`,
    rfc: INVALID_CODE,
    steps: [close(code)],
    expect: { close: 1002 },
  })),
];

await runTable(t, table);
