// Autobahn category 5 (fragmentation): RFC 6455 §5.4, with control frames in between, bad continuations,
// and the shapes real peers send (an empty final continuation, empty fragments), in both roles.
import t from 'tap';
import { Opcode } from '../../src/index.js';
import { pattern } from '../helpers/events.js';
import { runTable, type ConformanceCase, type Step } from './harness.js';

const REASSEMBLE = 'RFC 6455 §5.4: the fragments of a message are delivered as one message, whatever their sizes';
const INTERLEAVE =
  'RFC 6455 §5.4: "Control frames MAY be injected in the middle of a fragmented message" and "An endpoint MUST be capable of handling control frames in the middle of a fragmented message"';
const NO_CONTROL_FRAGMENTS = 'RFC 6455 §5.5: "Control frames themselves MUST NOT be fragmented": a protocol error (1002)';
const BAD_CONTINUATION =
  'RFC 6455 §5.4: a continuation frame continues a started message only, and a new data frame may not start inside one: a protocol error (1002)';

const fragments: Step[] = [
  { opcode: Opcode.text, payload: 'fragment1', fin: false },
  { opcode: Opcode.continuation, payload: 'fragment2' },
];
const withPing: Step[] = [
  { opcode: Opcode.text, payload: 'fragment1', fin: false },
  { opcode: Opcode.ping, payload: 'ping payload' },
  { opcode: Opcode.continuation, payload: 'fragment2' },
];
const withPauses: Step[] = [
  { opcode: Opcode.text, payload: 'fragment1', fin: false },
  { pause: 20 },
  { opcode: Opcode.ping, payload: 'ping payload' },
  { pause: 20 },
  { opcode: Opcode.continuation, payload: 'fragment2' },
];
const pongThenEcho = [
  { opcode: Opcode.pong, payload: 'ping payload' },
  { opcode: Opcode.text, payload: 'fragment1fragment2' },
];
const strayContinuation: Step[] = [
  { opcode: Opcode.continuation, payload: 'non-continuation payload' },
  { opcode: Opcode.text, payload: 'Hello, world!' },
];
const fiveFragments = (pauses: boolean): Step[] => [
  { opcode: Opcode.text, payload: 'fragment1', fin: false },
  { opcode: Opcode.continuation, payload: 'fragment2', fin: false },
  { opcode: Opcode.ping, payload: 'pongme 1!' },
  ...(pauses ? [{ pause: 20 }] : []),
  { opcode: Opcode.continuation, payload: 'fragment3', fin: false },
  { opcode: Opcode.continuation, payload: 'fragment4', fin: false },
  { opcode: Opcode.ping, payload: 'pongme 2!' },
  ...(pauses ? [{ pause: 20 }] : []),
  { opcode: Opcode.continuation, payload: 'fragment5' },
];
const fiveEchoes = [
  { opcode: Opcode.pong, payload: 'pongme 1!' },
  { opcode: Opcode.pong, payload: 'pongme 2!' },
  { opcode: Opcode.text, payload: 'fragment1fragment2fragment3fragment4fragment5' },
];
const MIB = pattern(1 << 20);
const oneByteFragments: Step[] = [...pattern(1000)].map((byte, i) => ({
  opcode: i === 0 ? Opcode.binary : Opcode.continuation,
  payload: Buffer.from([byte]),
  fin: i === 999,
}));

const table: ConformanceCase[] = [
  {
    id: '5.1',
    title: 'ping in two fragments',
    rfc: NO_CONTROL_FRAGMENTS,
    steps: [
      { opcode: Opcode.ping, payload: 'fragment1', fin: false },
      { opcode: Opcode.continuation, payload: 'fragment2' },
    ],
    expect: { close: 1002 },
  },
  {
    id: '5.2',
    title: 'pong in two fragments',
    rfc: NO_CONTROL_FRAGMENTS,
    steps: [
      { opcode: Opcode.pong, payload: 'fragment1', fin: false },
      { opcode: Opcode.continuation, payload: 'fragment2' },
    ],
    expect: { close: 1002 },
  },
  { id: '5.3', title: 'text in two fragments', rfc: REASSEMBLE, steps: fragments, expect: { frames: [{ opcode: Opcode.text, payload: 'fragment1fragment2' }], close: 1000 } },
  {
    id: '5.4',
    title: 'text in two fragments, one byte at a time',
    rfc: REASSEMBLE,
    steps: fragments,
    chunkSize: 1,
    expect: { frames: [{ opcode: Opcode.text, payload: 'fragment1fragment2' }], close: 1000 },
  },
  {
    id: '5.5',
    title: 'text in two fragments with a pause between',
    rfc: REASSEMBLE,
    steps: [fragments[0]!, { pause: 20 }, fragments[1]!],
    expect: { frames: [{ opcode: Opcode.text, payload: 'fragment1fragment2' }], close: 1000 },
  },
  { id: '5.6', title: 'text in two fragments with a ping between', rfc: INTERLEAVE, steps: withPing, expect: { frames: pongThenEcho, close: 1000 } },
  {
    id: '5.7',
    title: 'text in two fragments with a ping between, one byte at a time',
    rfc: INTERLEAVE,
    steps: withPing,
    chunkSize: 1,
    expect: { frames: pongThenEcho, close: 1000 },
  },
  {
    id: '5.8',
    title: 'text in two fragments with a ping between and pauses',
    rfc: INTERLEAVE,
    steps: withPauses,
    expect: { frames: pongThenEcho, close: 1000 },
  },
  { id: '5.9', title: 'continuation (FIN) with nothing to continue, then text', rfc: BAD_CONTINUATION, steps: strayContinuation, expect: { close: 1002 } },
  {
    id: '5.10',
    title: 'continuation (FIN) with nothing to continue, then text, one byte at a time',
    rfc: BAD_CONTINUATION,
    steps: strayContinuation,
    chunkSize: 1,
    expect: { close: 1002 },
  },
  {
    id: '5.12',
    title: 'continuation (not FIN) with nothing to continue, then text',
    rfc: BAD_CONTINUATION,
    steps: [{ opcode: Opcode.continuation, payload: 'non-continuation payload', fin: false }, strayContinuation[1]!],
    expect: { close: 1002 },
  },
  {
    id: '5.15',
    title: 'a whole fragmented message, then a continuation of nothing and a text, in one write',
    rfc: `${BAD_CONTINUATION}; the message before it is delivered and answered before the close frame (Autobahn: "strict")`,
    steps: [...fragments, { opcode: Opcode.continuation, payload: 'fragment3', fin: false }, { opcode: Opcode.text, payload: 'fragment4' }],
    everySplit: true,
    expect: { frames: [{ opcode: Opcode.text, payload: 'fragment1fragment2' }], close: 1002 },
  },
  {
    id: '5.16',
    title: 'continuations of nothing, then a fragmented text',
    rfc: BAD_CONTINUATION,
    steps: [
      { opcode: Opcode.continuation, payload: 'fragment1', fin: false },
      { opcode: Opcode.text, payload: 'fragment2', fin: false },
      { opcode: Opcode.continuation, payload: 'fragment3' },
    ],
    expect: { close: 1002 },
  },
  {
    id: '5.18',
    title: 'text (not FIN), then a second text frame instead of a continuation',
    rfc: BAD_CONTINUATION,
    steps: [
      { opcode: Opcode.text, payload: 'fragment1', fin: false },
      { opcode: Opcode.text, payload: 'fragment2' },
    ],
    expect: { close: 1002 },
  },
  {
    id: '5.19',
    title: 'text in five fragments with two pings between, with pauses',
    rfc: INTERLEAVE,
    steps: fiveFragments(true),
    expect: { frames: fiveEchoes, close: 1000 },
  },
  {
    id: '5.20',
    title: 'text in five fragments with two pings between, one byte at a time',
    rfc: INTERLEAVE,
    steps: fiveFragments(false),
    chunkSize: 1,
    expect: { frames: fiveEchoes, close: 1000 },
  },
  {
    id: '5.21',
    title: 'binary (not FIN), then a text frame instead of a continuation',
    rfc: BAD_CONTINUATION,
    steps: [
      { opcode: Opcode.binary, payload: pattern(4), fin: false },
      { opcode: Opcode.text, payload: 'fragment2' },
    ],
    expect: { close: 1002 },
  },
  {
    id: '5.22',
    title: 'text ended by an empty final continuation (as python-websockets and Autobahn send it)',
    rfc: `${REASSEMBLE}; §5.4 allows empty fragments`,
    steps: [
      { opcode: Opcode.text, payload: 'Hello, ', fin: false },
      { opcode: Opcode.continuation, payload: 'world', fin: false },
      { opcode: Opcode.continuation, payload: '' },
    ],
    expect: { frames: [{ opcode: Opcode.text, payload: 'Hello, world' }], close: 1000 },
  },
  {
    id: '5.23',
    title: 'binary of empty fragments around one byte',
    rfc: `${REASSEMBLE}; §5.4 allows empty fragments`,
    steps: [
      { opcode: Opcode.binary, payload: '', fin: false },
      { opcode: Opcode.continuation, payload: '', fin: false },
      { opcode: Opcode.continuation, payload: 'x', fin: false },
      { opcode: Opcode.continuation, payload: '' },
    ],
    expect: { frames: [{ opcode: Opcode.binary, payload: 'x' }], close: 1000 },
  },
  {
    id: '5.24',
    title: 'binary of 1000 one-byte fragments',
    rfc: REASSEMBLE,
    steps: oneByteFragments,
    expect: { frames: [{ opcode: Opcode.binary, payload: pattern(1000) }], close: 1000 },
  },
  {
    id: '5.25',
    title: 'close in the middle of a fragmented message',
    rfc: 'RFC 6455 §5.4 lets a close frame come between fragments; §5.5.1 then answers it, and the unfinished message is never delivered',
    steps: [
      { opcode: Opcode.text, payload: 'fragment1', fin: false },
      { opcode: Opcode.close, payload: Buffer.from([0x03, 0xe8]) },
      { opcode: Opcode.continuation, payload: 'fragment2' },
    ],
    expect: { close: 1000 },
  },
  {
    id: '5.26',
    title: 'a message of 1 MiB in 64-byte fragments (Autobahn 9.4-like)',
    rfc: REASSEMBLE,
    steps: [...Array(16384).keys()].map((i) => ({
      opcode: i === 0 ? Opcode.binary : Opcode.continuation,
      payload: MIB.subarray(i * 64, i * 64 + 64),
      fin: i === 16383,
    })),
    expect: { frames: [{ opcode: Opcode.binary, payload: MIB }], close: 1000 },
  },
];

await runTable(t, table);
