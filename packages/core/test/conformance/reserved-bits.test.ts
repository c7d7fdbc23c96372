// Autobahn category 3 (reserved bits) with no extension negotiated: RFC 6455 §5.2, in both roles.
import t from 'tap';
import { Opcode } from '../../src/index.js';
import { pattern } from '../helpers/events.js';
import { runTable, type ConformanceCase } from './harness.js';

const RSV =
  'RFC 6455 §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values. If a nonzero value is received and none of the negotiated extensions defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_" (1002); what came before is delivered and answered before the close frame, even when read together with the violation (Autobahn: "strict")';

const RSV1 = 0b100;
const RSV2 = 0b010;
const RSV3 = 0b001;

const table: ConformanceCase[] = [
  { id: '3.1', title: 'text with RSV1', rfc: RSV, steps: [{ opcode: Opcode.text, payload: 'Hello', rsv: RSV1 }], expect: { close: 1002 } },
  {
    id: '3.2',
    title: 'text, then text with RSV2, then ping',
    rfc: RSV,
    steps: [{ opcode: Opcode.text, payload: 'Hello' }, { opcode: Opcode.text, payload: 'Hello', rsv: RSV2 }, { opcode: Opcode.ping }],
    everySplit: true,
    expect: { frames: [{ opcode: Opcode.text, payload: 'Hello' }], close: 1002 },
  },
  {
    id: '3.3',
    title: 'text, then text with RSV3, then ping, one byte at a time',
    rfc: RSV,
    steps: [{ opcode: Opcode.text, payload: 'Hello' }, { opcode: Opcode.text, payload: 'Hello', rsv: RSV3 }, { opcode: Opcode.ping }],
    everySplit: true,
    chunkSize: 1,
    expect: { frames: [{ opcode: Opcode.text, payload: 'Hello' }], close: 1002 },
  },
  {
    id: '3.4',
    title: 'text, then text with RSV1+RSV2 and a ping in the same segment',
    rfc: RSV,
    steps: [{ opcode: Opcode.text, payload: 'Hello' }, { opcode: Opcode.text, payload: 'Hello', rsv: RSV1 | RSV2 }, { opcode: Opcode.ping }],
    everySplit: true,
    expect: { frames: [{ opcode: Opcode.text, payload: 'Hello' }], close: 1002 },
  },
  {
    id: '3.5',
    title: 'binary with RSV1+RSV3',
    rfc: RSV,
    steps: [{ opcode: Opcode.binary, payload: pattern(8), rsv: RSV1 | RSV3 }],
    expect: { close: 1002 },
  },
  {
    id: '3.6',
    title: 'ping with RSV2+RSV3',
    rfc: RSV,
    steps: [{ opcode: Opcode.ping, payload: pattern(8), rsv: RSV2 | RSV3 }],
    expect: { close: 1002 },
  },
  {
    id: '3.7',
    title: 'close with all three reserved bits',
    rfc: RSV,
    steps: [{ opcode: Opcode.close, payload: Buffer.from([0x03, 0xe8]), rsv: RSV1 | RSV2 | RSV3 }],
    expect: { close: 1002 },
  },
  {
    id: '3.8',
    title: 'continuation frame with RSV1 inside a fragmented text message',
    rfc: RSV,
    steps: [
      { opcode: Opcode.text, payload: 'Hel', fin: false },
      { opcode: Opcode.continuation, payload: 'lo', rsv: RSV1 },
    ],
    expect: { close: 1002 },
  },
];

await runTable(t, table);
