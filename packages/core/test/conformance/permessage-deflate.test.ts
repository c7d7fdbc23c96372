// Autobahn categories 12 and 13 (permessage-deflate, RFC 7692): the negotiation of every parameter, then
// compressed messages both ways with and without context takeover, and the errors a receiver must catch.
import t from 'tap';
import { Opcode } from '../../src/index.js';
import { pattern } from '../helpers/events.js';
import { deflated, deflatedWithContext, runTable, type ConformanceCase } from './harness.js';

const ANSWER_RULES =
  'RFC 7692 §5: the server accepts one offer, answering with the parameters it agreed to; §7.1.1.1/§7.1.2.1: requested server_no_context_takeover and server_max_window_bits are echoed (the window the same or smaller); §7.1.2.2: client_max_window_bits is answered only when offered';
const DECLINE =
  'RFC 7692 §5: the server MUST decline an offer with an unknown parameter, an invalid value, or a repeated parameter; §7.1.2: window bits are 8 to 15';
const COMPRESSED = 'RFC 7692 §6/§7.2: RSV1 marks a compressed message, inflated after appending 00 00 ff ff; our endpoint compresses its echo (threshold 0)';
const CLIENT_FAILS = 'RFC 7692 §5: a client MUST _Fail the WebSocket Connection_ when the server answers with parameters it did not offer or invalid values: before opening, so TCP is dropped and the API reports 1006';

const deflateServer = { perMessageDeflate: { threshold: 0 } };
const deflateClient = { perMessageDeflate: { threshold: 0 } };
const text = 'Hello, permessage-deflate! '.repeat(20);
const [first, second, third] = await deflatedWithContext([text, text, text]);
const [big] = await deflatedWithContext([pattern(1 << 20)]);

/** Server side: the offer and our server's exact answer, then one compressed message each way. */
const offers: [string, string, string][] = [
  ['13.1.1', 'permessage-deflate', 'permessage-deflate; server_no_context_takeover'],
  ['13.1.2', 'permessage-deflate; client_max_window_bits', 'permessage-deflate; server_no_context_takeover'],
  ['13.1.3', 'permessage-deflate; client_max_window_bits=9', 'permessage-deflate; server_no_context_takeover; client_max_window_bits=9'],
  ['13.1.4', 'permessage-deflate; server_max_window_bits=9', 'permessage-deflate; server_no_context_takeover; server_max_window_bits=9'],
  ['13.1.5', 'permessage-deflate; server_max_window_bits=15', 'permessage-deflate; server_no_context_takeover; server_max_window_bits=15'],
  ['13.1.6', 'permessage-deflate; client_no_context_takeover', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
  ['13.1.7', 'permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover'],
  [
    '13.1.8',
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
  ],
  ['13.1.9', 'permessage-deflate; server_max_window_bits=16, permessage-deflate', 'permessage-deflate; server_no_context_takeover'],
  ['13.1.10', 'x-webkit-deflate-frame, permessage-deflate; client_max_window_bits', 'permessage-deflate; server_no_context_takeover'],
];

/** Offers the server must decline: then a frame with RSV1 is a protocol error. */
const declined: [string, string][] = [
  ['13.2.1', 'permessage-deflate; server_max_window_bits=7'],
  ['13.2.2', 'permessage-deflate; server_max_window_bits=16'],
  ['13.2.3', 'permessage-deflate; client_max_window_bits=abc'],
  ['13.2.4', 'permessage-deflate; server_max_window_bits'],
  ['13.2.5', 'permessage-deflate; client_no_context_takeover=1'],
  ['13.2.6', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover'],
  ['13.2.7', 'permessage-deflate; unknown_parameter'],
];

/** Client side: answers our client must refuse. */
const refused: [string, string][] = [
  ['13.3.1', 'permessage-deflate; unknown_parameter'],
  ['13.3.2', 'permessage-deflate; server_max_window_bits=16'],
  ['13.3.3', 'permessage-deflate; client_max_window_bits'],
  ['13.3.4', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover'],
  ['13.3.5', 'x-webkit-deflate-frame'],
  ['13.3.6', 'permessage-deflate, permessage-deflate'],
];

const table: ConformanceCase[] = [
  ...offers.map(([id, offer, answer]): ConformanceCase => ({
    id,
    title: `offer "${offer}"`,
    rfc: `${ANSWER_RULES}; ${COMPRESSED}`,
    sides: ['server'],
    server: deflateServer,
    offer,
    expectAnswer: answer,
    steps: [{ opcode: Opcode.text, rsv: 0b100, payload: deflated(text) }],
    expect: { frames: [{ opcode: Opcode.text, payload: text, compressed: true }], close: 1000 },
  })),
  ...declined.map(([id, offer]): ConformanceCase => ({
    id,
    title: `offer "${offer}" is declined`,
    rfc: `${DECLINE}; without the extension RSV1 is a protocol error (RFC 6455 §5.2, 1002)`,
    sides: ['server'],
    server: deflateServer,
    offer,
    expectAnswer: '',
    steps: [{ opcode: Opcode.text, rsv: 0b100, payload: deflated('Hello') }],
    expect: { close: 1002 },
  })),
  ...refused.map(([id, answer]): ConformanceCase => ({
    id,
    title: `server answers "${answer}"`,
    rfc: CLIENT_FAILS,
    sides: ['client'],
    client: deflateClient,
    answer,
    steps: [],
    expect: { close: 'drop' },
  })),
  {
    id: '13.3.7',
    title: 'server answers permessage-deflate that the client never offered',
    rfc: 'RFC 6455 §4.1: an extension not requested by the client fails the connection (before opening: TCP dropped, 1006)',
    sides: ['client'],
    answer: 'permessage-deflate',
    steps: [],
    expect: { close: 'drop' },
  },
  ...(['permessage-deflate', 'permessage-deflate; client_max_window_bits=9', 'permessage-deflate; client_no_context_takeover'] as const).map(
    (answer, i): ConformanceCase => ({
      id: `13.4.${i + 1}`,
      title: `server answers "${answer}"; compressed messages both ways`,
      rfc: COMPRESSED,
      sides: ['client'],
      client: deflateClient,
      answer,
      steps: [
        { opcode: Opcode.text, rsv: 0b100, payload: deflated(text) },
        { opcode: Opcode.binary, rsv: 0b100, payload: deflated(pattern(300)) },
      ],
      expect: {
        frames: [
          { opcode: Opcode.text, payload: text, compressed: true },
          { opcode: Opcode.binary, payload: pattern(300), compressed: true },
        ],
        close: 1000,
      },
    }),
  ),
  {
    id: '12.1',
    title: 'three messages compressed with context takeover (each later one a back-reference)',
    rfc: 'RFC 7692 §7.2.3.1: without no_context_takeover the sender may refer to earlier messages, and the receiver keeps its window',
    server: { perMessageDeflate: { threshold: 0, serverNoContextTakeover: false } },
    client: deflateClient,
    offer: 'permessage-deflate',
    expectAnswer: 'permessage-deflate',
    answer: 'permessage-deflate',
    steps: [first!, second!, third!].map((payload) => ({ opcode: Opcode.text, rsv: 0b100, payload })),
    expect: { frames: [text, text, text].map((payload) => ({ opcode: Opcode.text, payload, compressed: true })), close: 1000 },
  },
  {
    id: '12.2',
    title: 'a compressed 1 MiB binary message',
    rfc: COMPRESSED,
    server: deflateServer,
    client: deflateClient,
    offer: 'permessage-deflate',
    answer: 'permessage-deflate',
    steps: [{ opcode: Opcode.binary, rsv: 0b100, payload: big! }],
    expect: { frames: [{ opcode: Opcode.binary, payload: pattern(1 << 20), compressed: true }], close: 1000 },
  },
  {
    id: '12.3',
    title: 'a compressed message in three fragments, RSV1 on the first only, with a ping between',
    rfc: `RFC 7692 §6.1: RSV1 is set on the first frame of a compressed message only; ${COMPRESSED}`,
    server: deflateServer,
    client: deflateClient,
    offer: 'permessage-deflate',
    answer: 'permessage-deflate',
    steps: [
      { opcode: Opcode.text, rsv: 0b100, payload: deflated(text).subarray(0, 5), fin: false },
      { opcode: Opcode.continuation, payload: deflated(text).subarray(5, 20), fin: false },
      { opcode: Opcode.ping, payload: 'in between' },
      { opcode: Opcode.continuation, payload: deflated(text).subarray(20) },
    ],
    expect: {
      frames: [
        { opcode: Opcode.pong, payload: 'in between' },
        { opcode: Opcode.text, payload: text, compressed: true },
      ],
      close: 1000,
    },
  },
  {
    id: '12.4',
    title: 'an empty compressed message, and an uncompressed one',
    rfc: `RFC 7692 §6: a message without RSV1 is not compressed even when the extension is agreed; ${COMPRESSED}`,
    server: deflateServer,
    client: deflateClient,
    offer: 'permessage-deflate',
    answer: 'permessage-deflate',
    steps: [
      { opcode: Opcode.text, rsv: 0b100, payload: deflated('') },
      { opcode: Opcode.text, payload: 'plain' },
    ],
    expect: {
      frames: [
        { opcode: Opcode.text, payload: '', compressed: true },
        { opcode: Opcode.text, payload: 'plain', compressed: true },
      ],
      close: 1000,
    },
  },
  {
    id: '12.5',
    title: 'RSV1 on a continuation frame',
    rfc: 'RFC 7692 §6.1: "An endpoint MUST NOT set the RSV1 bit on continuation frames" and a receiver fails such a frame (RFC 6455 §5.2, 1002)',
    server: deflateServer,
    client: deflateClient,
    offer: 'permessage-deflate',
    answer: 'permessage-deflate',
    steps: [
      { opcode: Opcode.text, rsv: 0b100, payload: deflated(text).subarray(0, 5), fin: false },
      { opcode: Opcode.continuation, rsv: 0b100, payload: deflated(text).subarray(5) },
    ],
    expect: { close: 1002 },
  },
  {
    id: '12.6',
    title: 'RSV1 on a ping',
    rfc: 'RFC 7692 §6: the extension applies to data messages only; RSV1 on a control frame is a protocol error (1002)',
    server: deflateServer,
    client: deflateClient,
    offer: 'permessage-deflate',
    answer: 'permessage-deflate',
    steps: [{ opcode: Opcode.ping, rsv: 0b100, payload: 'x' }],
    expect: { close: 1002 },
  },
  {
    id: '12.7',
    title: 'RSV1 with data that is not DEFLATE',
    rfc: 'RFC 7692 §8: a message that does not inflate is bad data; we fail with 1007 (invalid payload data, RFC 6455 §7.4.1)',
    server: deflateServer,
    client: deflateClient,
    offer: 'permessage-deflate',
    answer: 'permessage-deflate',
    steps: [{ opcode: Opcode.binary, rsv: 0b100, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]) }],
    expect: { close: 1007 },
  },
  {
    id: '12.8',
    title: 'a compressed message that inflates past the receiver\'s limit (a "zip bomb")',
    rfc: 'RFC 6455 §7.4.1: 1009 for a message too big; the limit counts inflated bytes (RFC 7692 §8.1 warns of exactly this)',
    server: { ...deflateServer, maxMessageSize: 65536 },
    client: { ...deflateClient, maxMessageSize: 65536 },
    offer: 'permessage-deflate',
    answer: 'permessage-deflate',
    steps: [{ opcode: Opcode.binary, rsv: 0b100, payload: deflated(Buffer.alloc(4 << 20)) }],
    expect: { close: 1009 },
  },
  {
    id: '12.9',
    title: 'compressed text that inflates to invalid UTF-8',
    rfc: 'RFC 6455 §8.1 applies to the inflated message: 1007',
    server: deflateServer,
    client: deflateClient,
    offer: 'permessage-deflate',
    answer: 'permessage-deflate',
    steps: [{ opcode: Opcode.text, rsv: 0b100, payload: deflated(Buffer.from([0xce, 0xba, 0xed, 0xa0, 0x80])) }],
    expect: { close: 1007 },
  },
];

await runTable(t, table);
