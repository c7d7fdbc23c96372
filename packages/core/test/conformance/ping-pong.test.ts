// Autobahn category 2 (pings and pongs): RFC 6455 §5.5.2 and §5.5.3, in both roles.
import t from 'tap';
import { Opcode } from '../../src/index.js';
import { pattern } from '../helpers/events.js';
import { runTable, type ConformanceCase, type Step } from './harness.js';

const PONG = 'RFC 6455 §5.5.3: "A Pong frame sent in response to a Ping frame must have identical Application data"';
const UNSOLICITED = 'RFC 6455 §5.5.3: "A Pong frame MAY be sent unsolicited ... A response to an unsolicited Pong frame is not expected"';
const binary = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
const tenPings: Step[] = Array.from({ length: 10 }, (_, i) => ({ opcode: Opcode.ping, payload: `payload-${i}` }));
const tenPongs = Array.from({ length: 10 }, (_, i) => ({ opcode: Opcode.pong, payload: `payload-${i}` }));

const table: ConformanceCase[] = [
  { id: '2.1', title: 'ping without payload', rfc: PONG, steps: [{ opcode: Opcode.ping }], expect: { frames: [{ opcode: Opcode.pong }], close: 1000 } },
  {
    id: '2.2',
    title: 'ping with a small text payload',
    rfc: PONG,
    steps: [{ opcode: Opcode.ping, payload: 'Hello, world!' }],
    expect: { frames: [{ opcode: Opcode.pong, payload: 'Hello, world!' }], close: 1000 },
  },
  {
    id: '2.3',
    title: 'ping with a small binary payload',
    rfc: PONG,
    steps: [{ opcode: Opcode.ping, payload: binary }],
    expect: { frames: [{ opcode: Opcode.pong, payload: binary }], close: 1000 },
  },
  {
    id: '2.4',
    title: 'ping with the largest payload, 125 bytes',
    rfc: `${PONG}; §5.5: control payloads are at most 125 bytes`,
    steps: [{ opcode: Opcode.ping, payload: pattern(125) }],
    expect: { frames: [{ opcode: Opcode.pong, payload: pattern(125) }], close: 1000 },
  },
  {
    id: '2.5',
    title: 'ping with a 126-byte payload',
    rfc: 'RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less": a protocol error (1002)',
    steps: [{ opcode: Opcode.ping, payload: pattern(126) }],
    expect: { close: 1002 },
  },
  {
    id: '2.6',
    title: 'ping with 125 bytes written one byte at a time',
    rfc: PONG,
    steps: [{ opcode: Opcode.ping, payload: pattern(125) }],
    chunkSize: 1,
    expect: { frames: [{ opcode: Opcode.pong, payload: pattern(125) }], close: 1000 },
  },
  { id: '2.7', title: 'unsolicited pong without payload', rfc: UNSOLICITED, steps: [{ opcode: Opcode.pong }], expect: { close: 1000 } },
  {
    id: '2.8',
    title: 'unsolicited pong with payload',
    rfc: UNSOLICITED,
    steps: [{ opcode: Opcode.pong, payload: 'unsolicited pong payload' }],
    expect: { close: 1000 },
  },
  {
    id: '2.9',
    title: 'unsolicited pong, then a ping',
    rfc: `${UNSOLICITED}; the ping is answered`,
    steps: [
      { opcode: Opcode.pong, payload: 'unsolicited pong payload' },
      { opcode: Opcode.ping, payload: 'ping payload' },
    ],
    expect: { frames: [{ opcode: Opcode.pong, payload: 'ping payload' }], close: 1000 },
  },
  {
    id: '2.10',
    title: '10 pings in a row',
    rfc: `${PONG}; every ping is answered, in order (a ping is never left unanswered for a later one here)`,
    steps: tenPings,
    expect: { frames: tenPongs, close: 1000 },
  },
  {
    id: '2.11',
    title: '10 pings written one byte at a time',
    rfc: PONG,
    steps: tenPings,
    chunkSize: 1,
    expect: { frames: tenPongs, close: 1000 },
  },
];

await runTable(t, table);
