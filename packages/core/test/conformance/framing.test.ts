// Autobahn category 1 (framing): text and binary messages of every size class from 0 bytes to 16 MiB,
// every length encoding of RFC 6455 §5.2, delivered whole and in small TCP pieces; and §5.1 masking.
import t from 'tap';
import { Opcode } from '../../src/index.js';
import { pattern } from '../helpers/events.js';
import { runTable, type ConformanceCase } from './harness.js';

const ECHO = 'RFC 6455 §5.6: a text (binary) message arrives whole and our echo peer sends it back as one frame';
const SIZES = [0, 125, 126, 127, 128, 65535, 65536] as const;

const text = (size: number): string => '*'.repeat(size);

const table: ConformanceCase[] = [
  ...SIZES.map((size, i): ConformanceCase => ({
    id: `1.1.${i + 1}`,
    title: `text message of ${size} bytes`,
    rfc: ECHO,
    steps: [{ opcode: Opcode.text, payload: text(size) }],
    expect: { frames: [{ opcode: Opcode.text, payload: text(size) }], close: 1000 },
  })),
  {
    id: '1.1.8',
    title: 'text message of 65536 bytes written in 997-byte pieces',
    rfc: 'RFC 6455 §5.2: frame boundaries owe nothing to TCP segment boundaries',
    steps: [{ opcode: Opcode.text, payload: text(65536) }],
    chunkSize: 997,
    expect: { frames: [{ opcode: Opcode.text, payload: text(65536) }], close: 1000 },
  },
  ...SIZES.map((size, i): ConformanceCase => ({
    id: `1.2.${i + 1}`,
    title: `binary message of ${size} bytes`,
    rfc: ECHO,
    steps: [{ opcode: Opcode.binary, payload: pattern(size) }],
    expect: { frames: [{ opcode: Opcode.binary, payload: pattern(size) }], close: 1000 },
  })),
  {
    id: '1.2.8',
    title: 'binary message of 65536 bytes written in 997-byte pieces',
    rfc: 'RFC 6455 §5.2: frame boundaries owe nothing to TCP segment boundaries',
    steps: [{ opcode: Opcode.binary, payload: pattern(65536) }],
    chunkSize: 997,
    expect: { frames: [{ opcode: Opcode.binary, payload: pattern(65536) }], close: 1000 },
  },
  ...[1 << 20, 4 << 20, 16 << 20].map((size): ConformanceCase => ({
    id: `1.3.${Math.log2(size) - 19}`,
    title: `binary message of ${size >> 20} MiB`,
    rfc: `${ECHO} (Autobahn 9.2: up to 16 MiB)`,
    steps: [{ opcode: Opcode.binary, payload: pattern(size) }],
    expect: { frames: [{ opcode: Opcode.binary, payload: pattern(size) }], close: 1000 },
  })),
  {
    id: '1.3.4',
    title: 'text message of 16 MiB',
    rfc: `${ECHO} (Autobahn 9.1.6)`,
    steps: [{ opcode: Opcode.text, payload: text(16 << 20) }],
    expect: { frames: [{ opcode: Opcode.text, payload: text(16 << 20) }], close: 1000 },
  },
  {
    id: '1.4.1',
    title: 'frames written one byte at a time (7-bit, 16-bit and 64-bit lengths)',
    rfc: 'RFC 6455 §5.2: a receiver reassembles each header field from any number of reads',
    steps: [
      { opcode: Opcode.text, payload: 'Hello' },
      { opcode: Opcode.binary, payload: pattern(300) },
      { opcode: Opcode.binary, payload: pattern(200), lengthForm: 64 },
    ],
    chunkSize: 1,
    expect: {
      frames: [
        { opcode: Opcode.text, payload: 'Hello' },
        { opcode: Opcode.binary, payload: pattern(300) },
        { opcode: Opcode.binary, payload: pattern(200) },
      ],
      close: 1000,
    },
  },
  {
    id: '1.4.2',
    title: 'non-minimal lengths: 5 bytes in the 16-bit and in the 64-bit form, 300 bytes in the 64-bit form',
    rfc: 'RFC 6455 §5.2 asks the sender for the minimal form but gives the receiver no duty to refuse a longer one: the messages are read (as ws and python-websockets read them)',
    steps: [
      { opcode: Opcode.text, payload: 'Hello', lengthForm: 16 },
      { opcode: Opcode.text, payload: 'Hello', lengthForm: 64 },
      { opcode: Opcode.binary, payload: pattern(300), lengthForm: 64 },
    ],
    expect: {
      frames: [
        { opcode: Opcode.text, payload: 'Hello' },
        { opcode: Opcode.text, payload: 'Hello' },
        { opcode: Opcode.binary, payload: pattern(300) },
      ],
      close: 1000,
    },
  },
  {
    id: '1.4.3',
    title: '64-bit length with the most significant bit set',
    rfc: 'RFC 6455 §5.2: "the most significant bit MUST be 0"; anything else is a protocol error (1002)',
    steps: [{ opcode: Opcode.binary, payload: 'abc', announcedLength: 0x8000000000000003n, lengthForm: 64 }],
    expect: { close: 1002 },
  },
  {
    id: '1.5.1',
    title: 'a frame masked the wrong way for the receiver (unmasked to a server, masked to a client)',
    rfc: 'RFC 6455 §5.1: a server MUST close on an unmasked frame and a client MUST close on a masked one (1002)',
    steps: [{ opcode: Opcode.text, payload: 'Hello', wrongMask: true }],
    expect: { close: 1002 },
  },
  {
    id: '1.5.2',
    title: 'a good message, then one masked the wrong way',
    rfc: 'RFC 6455 §5.1: the first message is delivered, the badly masked frame fails the connection (1002)',
    steps: [
      { opcode: Opcode.text, payload: 'fine' },
      { awaitFrames: 1 },
      { opcode: Opcode.binary, payload: pattern(10), wrongMask: true },
    ],
    expect: { frames: [{ opcode: Opcode.text, payload: 'fine' }], close: 1002 },
  },
];

await runTable(t, table);
