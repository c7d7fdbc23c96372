import t, { type Test } from 'tap';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import type { Role } from '../src/constants.js';
import { ErrorCode, WebSocketError } from '../src/errors.js';
import { encodeMessage, FrameParser, PerMessageDeflate, Protocol, type DeflateParams } from '../src/index.js';
import { closeBody, rawFrame, type RawFrame } from './helpers/frames.js';
import { bytes, hex, shown, spaced, toHex } from './helpers/hex.js';
import {
  chunkings,
  feed,
  feedEveryWay,
  makeProtocol,
  MASK,
  ownFrameHex,
  peerFrame,
  plain,
  type Outcome,
  type PlainEvent,
  type ProtocolTestOptions,
} from './helpers/sans-io.js';

const roles: Role[] = ['client', 'server'];

/**
 * Feeds `input` to `role` whole, split at every point and one byte at a time; checks every chunking gives
 * the same outcome and that the outcome has the `expected` fields.
 */
function expectOutcome(
  t: Test,
  role: Role,
  input: Uint8Array,
  expected: Partial<Outcome>,
  options: ProtocolTestOptions = {},
): Outcome {
  const { outcome, mismatch } = feedEveryWay(role, input, options);
  t.same(mismatch, undefined, 'every chunking gives the same outcome');
  const picked: Partial<Record<keyof Outcome, unknown>> = {};
  for (const key of Object.keys(expected) as (keyof Outcome)[]) picked[key] = outcome[key];
  t.same(picked, expected);
  return outcome;
}

/** The close frame `role` writes for `code` (none: an empty body), as hex. */
function closeFrameOf(role: Role, code?: number): string {
  return ownFrameHex(role, { opcode: 8, payload: code === undefined ? '' : closeBody(code) });
}

/** The outcome of a connection that `role` failed with `closeCode` because of `errorCode`. */
function failedWith(role: Role, errorCode: string, closeCode: number, eventsBefore: Outcome['events'] = []): Partial<Outcome> {
  return {
    events: [...eventsBefore, { type: 'error', code: errorCode, closeCode }],
    sent: closeFrameOf(role, closeCode),
    state: 'closing',
    closeCode,
    closeSent: true,
    closeReceived: false,
    transportShouldClose: true,
    failure: errorCode,
  };
}

function sentHex(protocol: { dataToSend(): Uint8Array[] }): string {
  return toHex(protocol.dataToSend());
}

t.test('RFC 6455 §5.7: examples, both directions', async (t) => {
  t.test('single-frame unmasked text "Hello"', async (t) => {
    t.test('server sends it', async (t) => {
      const server = makeProtocol('server');
      server.sendText('Hello');
      t.equal(sentHex(server), spaced('81 05 48656c6c6f'));
    });
    t.test('client receives it: one text event, nothing sent', async (t) => {
      expectOutcome(t, 'client', hex('81 05 48656c6c6f'), { events: [{ type: 'text', data: 'Hello' }], sent: '', state: 'open' });
    });
  });

  t.test('single-frame masked text "Hello"', async (t) => {
    t.test('client sends it with key 37 fa 21 3d', async (t) => {
      const client = makeProtocol('client');
      client.sendText('Hello');
      t.equal(sentHex(client), spaced('81 85 37fa213d 7f9f4d5158'));
    });
    t.test('server receives it: one text event, nothing sent', async (t) => {
      expectOutcome(t, 'server', hex('81 85 37fa213d 7f9f4d5158'), { events: [{ type: 'text', data: 'Hello' }], sent: '' });
    });
  });

  t.test('fragmented unmasked text "Hel" + "lo"', async (t) => {
    t.test('server sends it with sendFragment', async (t) => {
      const server = makeProtocol('server');
      server.sendFragment(0x1, Buffer.from('Hel'), false);
      server.sendFragment(0x0, Buffer.from('lo'), true);
      t.equal(sentHex(server), spaced('01 03 48656c  80 02 6c6f'));
    });
    t.test('client receives it: one text event once the last fragment arrives', async (t) => {
      const client = makeProtocol('client');
      client.receiveData(hex('01 03 48656c'));
      t.same(client.eventsReceived(), []);
      client.receiveData(hex('80 02 6c6f'));
      t.same(plain(client.eventsReceived()), [{ type: 'text', data: 'Hello' }]);
      expectOutcome(t, 'client', hex('01 03 48656c 80 02 6c6f'), { events: [{ type: 'text', data: 'Hello' }], sent: '' });
    });
  });

  t.test('unmasked ping "Hello" and its pong', async (t) => {
    t.test('server sends the ping', async (t) => {
      const server = makeProtocol('server');
      server.sendPing(Buffer.from('Hello'));
      t.equal(sentHex(server), spaced('89 05 48656c6c6f'));
    });
    t.test('client receives the ping: ping event, answers with the pong of §5.7 masked', async (t) => {
      expectOutcome(t, 'client', hex('89 05 48656c6c6f'), {
        events: [{ type: 'ping', data: '48 65 6c 6c 6f' }],
        sent: ownFrameHex('client', { opcode: 0xa, payload: 'Hello' }),
      });
    });
    t.test('server receives a masked ping: answers with the unmasked pong of §5.7', async (t) => {
      expectOutcome(t, 'server', rawFrame({ opcode: 9, payload: 'Hello', mask: MASK }), {
        events: [{ type: 'ping', data: '48 65 6c 6c 6f' }],
        sent: spaced('8a 05 48656c6c6f'),
      });
    });
    t.test('client receives the unmasked pong: pong event, nothing sent', async (t) => {
      expectOutcome(t, 'client', hex('8a 05 48656c6c6f'), { events: [{ type: 'pong', data: '48 65 6c 6c 6f' }], sent: '' });
    });
    t.test('server sends an unsolicited pong', async (t) => {
      const server = makeProtocol('server');
      server.sendPong(Buffer.from('Hello'));
      t.equal(sentHex(server), spaced('8a 05 48656c6c6f'));
    });
  });

  t.test('256 bytes binary in a single unmasked frame', async (t) => {
    const payload = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) payload[i] = i;
    const frame = bytes('82 7e 0100', payload);
    t.test('server sends it', async (t) => {
      const server = makeProtocol('server');
      server.sendBinary(payload);
      t.equal(sentHex(server), toHex(frame));
    });
    t.test('client receives it', async (t) => {
      expectOutcome(t, 'client', frame, { events: [{ type: 'binary', data: shown(payload) }], sent: '' });
    });
  });

  t.test('64 KiB binary in a single frame', async (t) => {
    const payload = Buffer.alloc(65536);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
    const unmasked = bytes('82 7f 0000000000010000', payload);
    const masked = bytes('82 ff 0000000000010000 37fa213d', Buffer.from(payload.map((byte, i) => byte ^ MASK[i % 4]!)));
    t.test('server sends it unmasked', async (t) => {
      const server = makeProtocol('server');
      server.sendBinary(payload);
      t.ok(Buffer.concat(server.dataToSend()).equals(unmasked));
    });
    t.test('client sends it masked with the injected key', async (t) => {
      const client = makeProtocol('client');
      client.sendBinary(payload);
      t.ok(Buffer.concat(client.dataToSend()).equals(masked));
    });
    t.test('client receives it', async (t) => {
      expectOutcome(t, 'client', unmasked, { events: [{ type: 'binary', data: shown(payload) }], sent: '' });
    });
    t.test('server receives it', async (t) => {
      expectOutcome(t, 'server', masked, { events: [{ type: 'binary', data: shown(payload) }], sent: '' });
    });
  });
});

t.test('RFC 6455 §5.1, §5.3: masking', async (t) => {
  t.test('server receives an unmasked frame: fails with 1002', async (t) => {
    expectOutcome(t, 'server', hex('81 05 48656c6c6f'), { ...failedWith('server', ErrorCode.expectedMask, 1002), sent: spaced('88 02 03ea') });
  });

  t.test('client receives a masked frame: fails with 1002', async (t) => {
    expectOutcome(t, 'client', hex('81 85 37fa213d 7f9f4d5158'), {
      ...failedWith('client', ErrorCode.unexpectedMask, 1002),
      sent: spaced('88 82 37fa213d 3410'),
    });
  });

  t.test('client masks every frame with a fresh key from generateMask', async (t) => {
    const keys = [hex('01020304'), hex('a1b2c3d4'), hex('00000000')];
    let next = 0;
    const client = makeProtocol('client', { generateMask: () => keys[next++]! });
    client.sendText('a');
    client.sendPing(hex('ff'));
    client.sendClose(1000);
    t.equal(sentHex(client), spaced('81 81 01020304 60', '89 81 a1b2c3d4 5e', '88 82 00000000 03e8'));
  });

  t.test('client with the default key source: frames are masked and read back', async (t) => {
    const defaultClient = new Protocol({ role: 'client' });
    defaultClient.sendText('Hello');
    defaultClient.sendText('Hello');
    const [first, second] = defaultClient.dataToSend();
    t.equal(first![1], 0x85, 'MASK bit set');
    t.not(toHex(first!.subarray(2, 6)), toHex(second!.subarray(2, 6)), 'a different key per frame');
    t.same(feed('server', [first!, second!]).events, [{ type: 'text', data: 'Hello' }, { type: 'text', data: 'Hello' }]);
  });
});

t.test('RFC 6455 §5.2, §5.4, §5.5: framing errors fail the connection with 1002', async (t) => {
  for (const role of roles) {
    const frame = (f: RawFrame): Buffer => peerFrame(role, f);
    const rules: [string, Buffer, string, PlainEvent[]?][] = [
      ['RSV1 without an extension', frame({ opcode: 1, rsv: 4, payload: 'x' }), ErrorCode.unexpectedRsv],
      ['RSV2', frame({ opcode: 1, rsv: 2, payload: 'x' }), ErrorCode.unexpectedRsv],
      ['RSV3', frame({ opcode: 2, rsv: 1, payload: 'x' }), ErrorCode.unexpectedRsv],
      ['RSV1 on a ping', frame({ opcode: 9, rsv: 4 }), ErrorCode.unexpectedRsv],
      ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map(
        (opcode): [string, Buffer, string] => [`reserved opcode 0x${opcode.toString(16)}`, frame({ opcode, payload: 'x' }), ErrorCode.invalidOpcode],
      ),
      ['a ping with FIN=0', frame({ opcode: 9, fin: false }), ErrorCode.fragmentedControlFrame],
      ['a pong with FIN=0', frame({ opcode: 0xa, fin: false }), ErrorCode.fragmentedControlFrame],
      ['a close with FIN=0', frame({ opcode: 8, fin: false, payload: closeBody(1000) }), ErrorCode.fragmentedControlFrame],
      ['a ping with 126 bytes', frame({ opcode: 9, payload: Buffer.alloc(126) }), ErrorCode.controlFrameTooLong],
      ['a close with 126 bytes', frame({ opcode: 8, payload: closeBody(1000, 'a'.repeat(124)) }), ErrorCode.controlFrameTooLong],
      ['a 64-bit length with the top bit set', frame({ opcode: 2, announcedLength: 0x8000_0000_0000_0001n, payload: 'x' }), ErrorCode.invalidLength],
      ['a continuation without a message', frame({ opcode: 0, payload: 'x' }), ErrorCode.unexpectedContinuation],
      ['a final continuation without a message', frame({ opcode: 0, fin: true }), ErrorCode.unexpectedContinuation],
      [
        'a text frame inside a fragmented text message',
        bytes(frame({ opcode: 1, fin: false, payload: 'a' }), frame({ opcode: 1, payload: 'b' })),
        ErrorCode.expectedContinuation,
      ],
      [
        'a binary frame inside a fragmented text message',
        bytes(frame({ opcode: 1, fin: false, payload: 'a' }), frame({ opcode: 2, fin: false, payload: 'b' })),
        ErrorCode.expectedContinuation,
      ],
      [
        'a text frame inside a fragmented binary message after a ping',
        bytes(frame({ opcode: 2, fin: false, payload: 'a' }), frame({ opcode: 9 }), frame({ opcode: 1, payload: 'b' })),
        ErrorCode.expectedContinuation,
        [{ type: 'ping', data: '' }],
      ],
      [
        'a continuation after a complete message',
        bytes(frame({ opcode: 1, payload: 'a' }), frame({ opcode: 0, payload: 'b' })),
        ErrorCode.unexpectedContinuation,
        [{ type: 'text', data: 'a' }],
      ],
      ['a close frame with a 1-byte payload', frame({ opcode: 8, payload: hex('03') }), ErrorCode.invalidClosePayload],
    ];
    for (const [name, input, errorCode, before = []] of rules) {
      t.test(`${role} receives ${name}: fails with 1002 (${errorCode})`, async (t) => {
        // Frames before the violation are delivered, and a ping among them answered, before the close frame.
        const pongs = before.filter((event) => event.type === 'ping').map(() => `${ownFrameHex(role, { opcode: 0xa })} `);
        expectOutcome(t, role, input, { ...failedWith(role, errorCode, 1002, before), sent: pongs.join('') + closeFrameOf(role, 1002) });
      });
    }
  }

  t.test('server fails: the close frame it sends is exactly 88 02 03 ea', async (t) => {
    expectOutcome(t, 'server', rawFrame({ opcode: 3, mask: MASK }), { sent: spaced('88 02 03ea') });
  });

  t.test('client fails: the close frame it sends is masked, 88 82 37fa213d 34 10', async (t) => {
    expectOutcome(t, 'client', hex('83 00'), { sent: spaced('88 82 37fa213d 3410') });
  });

  t.test('frames before the violation are delivered first', async (t) => {
    expectOutcome(t, 'client', hex('81 02 6f6b 8a 00 83 00'), failedWith('client', ErrorCode.invalidOpcode, 1002, [
      { type: 'text', data: 'ok' },
      { type: 'pong', data: '' },
    ]));
  });

  t.test('after failing, further input is ignored', async (t) => {
    const client = makeProtocol('client');
    client.receiveData(hex('83 00'));
    client.eventsReceived();
    client.dataToSend();
    client.receiveData(hex('81 02 6f6b 89 00'));
    t.same(client.eventsReceived(), []);
    t.same(client.dataToSend(), []);
  });
});

t.test('RFC 6455 §7.1.7: a violation read together with messages before it (Autobahn 3.2-3.4, 4.1.3-4.2.5, 5.15, strict)', async (t) => {
  /**
   * An adapter echoing every text message, as Autobahn's echo endpoint does: each `receiveData` is followed
   * by `eventsReceived()` until it is empty, echoing between batches; returns the events and bytes sent.
   */
  const echoAll = (role: Role, chunks: readonly Uint8Array[]): { events: PlainEvent[]; sent: string } => {
    const p = makeProtocol(role);
    const events: PlainEvent[] = [];
    const sent: Uint8Array[] = [];
    for (const chunk of chunks) {
      p.receiveData(Buffer.from(chunk));
      for (let batch = p.eventsReceived(); batch.length > 0; batch = p.eventsReceived()) {
        for (const event of batch) if (event.type === 'text' && p.state === 'open') p.sendText(event.data);
        events.push(...plain(batch));
        sent.push(...p.dataToSend());
      }
    }
    return { events, sent: toHex(sent) };
  };

  for (const role of roles) {
    const frame = (f: RawFrame): Buffer => peerFrame(role, f);
    const shapes: [string, Buffer, string, string][] = [
      ['3.2: text, text with RSV2, ping', bytes(frame({ opcode: 1, payload: 'Hello' }), frame({ opcode: 1, rsv: 2, payload: 'Hello' }), frame({ opcode: 9 })), 'Hello', ErrorCode.unexpectedRsv],
      ['4.1.3: text, reserved opcode 0x5, ping', bytes(frame({ opcode: 1, payload: 'Hello' }), frame({ opcode: 5 }), frame({ opcode: 9 })), 'Hello', ErrorCode.invalidOpcode],
      ['4.2.4: text, reserved opcode 0xc with a payload, ping', bytes(frame({ opcode: 1, payload: 'Hello' }), frame({ opcode: 0xc, payload: 'reserved' }), frame({ opcode: 9 })), 'Hello', ErrorCode.invalidOpcode],
      [
        '5.15: fragmented text, then continuations of nothing',
        bytes(
          frame({ opcode: 1, fin: false, payload: 'fragment1' }),
          frame({ opcode: 0, payload: 'fragment2' }),
          frame({ opcode: 0, fin: false, payload: 'fragment3' }),
          frame({ opcode: 0, payload: 'fragment4' }),
        ),
        'fragment1fragment2',
        ErrorCode.unexpectedContinuation,
      ],
    ];
    for (const [name, input, message, errorCode] of shapes) {
      t.test(`${role} receives ${name}, in every chunking: the echo goes out, then close 1002`, async (t) => {
        const expected = {
          events: [{ type: 'text', data: message }, { type: 'error', code: errorCode, closeCode: 1002 }],
          sent: `${ownFrameHex(role, { opcode: 1, payload: message })} ${closeFrameOf(role, 1002)}`,
        };
        for (const chunking of chunkings(input)) t.same(echoAll(role, chunking.chunks), expected, chunking.name);
      });
    }

    const input = bytes(frame({ opcode: 1, payload: 'Hello' }), frame({ opcode: 3 }), frame({ opcode: 9 }));

    t.test(`${role}: the failure comes in the batch after the message, and the connection stays open until then`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(Buffer.from(input));
      t.same(plain(p.eventsReceived()), [{ type: 'text', data: 'Hello' }]);
      t.same({ state: p.state, failure: p.failure, closeSent: p.closeSent, hasDataToSend: p.hasDataToSend }, { state: 'open', failure: undefined, closeSent: false, hasDataToSend: false });
      p.sendText('one');
      p.sendBinary(hex('02'));
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.invalidOpcode, closeCode: 1002 }]);
      t.same(plain(p.eventsReceived()), [], 'the ping after the violation is never read');
      t.equal(
        sentHex(p),
        [ownFrameHex(role, { opcode: 1, payload: 'one' }), ownFrameHex(role, { opcode: 2, payload: hex('02') }), closeFrameOf(role, 1002)].join(' '),
        'both answers, then the close frame',
      );
      t.same({ state: p.state, failure: p.failure?.code, closeCode: p.closeCode, transportShouldClose: p.transportShouldClose }, {
        state: 'closing',
        failure: ErrorCode.invalidOpcode,
        closeCode: 1002,
        transportShouldClose: true,
      });
      t.throws(() => p.sendText('late'), { code: ErrorCode.notOpen });
    });

    t.test(`${role}: an adapter that feeds more data before taking the next batch reaches the failure; the data is ignored`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(Buffer.from(input));
      t.same(plain(p.eventsReceived()), [{ type: 'text', data: 'Hello' }]);
      p.receiveData(frame({ opcode: 1, payload: 'more' }));
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.invalidOpcode, closeCode: 1002 }]);
      t.equal(sentHex(p), closeFrameOf(role, 1002));
    });

    t.test(`${role}: EOF before the next batch reaches the failure, which keeps its code`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(Buffer.from(input));
      p.eventsReceived();
      p.receiveEof();
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.invalidOpcode, closeCode: 1002 }]);
      t.same({ state: p.state, closeCode: p.closeCode, sent: sentHex(p) }, { state: 'closed', closeCode: 1002, sent: closeFrameOf(role, 1002) });
    });

    t.test(`${role}: an application that closes in answer to the message: its close frame, no second one`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(Buffer.from(input));
      p.eventsReceived();
      p.sendClose(1000);
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.invalidOpcode, closeCode: 1002 }]);
      t.same({ sent: sentHex(p), closeCode: p.closeCode, transportShouldClose: p.transportShouldClose }, {
        sent: closeFrameOf(role, 1000),
        closeCode: 1002,
        transportShouldClose: true,
      });
    });

    t.test(`${role}: the adapter fails the connection before the next batch: its failure wins`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(Buffer.from(input));
      p.eventsReceived();
      p.fail(new WebSocketError(ErrorCode.closeTimeout, 'internal', 1011));
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.closeTimeout, closeCode: 1011 }]);
      t.same(plain(p.eventsReceived()), []);
      t.equal(sentHex(p), closeFrameOf(role, 1011));
    });
  }
});

t.test('RFC 6455 §5.4: fragmentation', async (t) => {
  for (const role of roles) {
    const frame = (f: RawFrame): Buffer => peerFrame(role, f);

    t.test(`${role} receives control frames between fragments: delivered at once, message still assembles`, async (t) => {
      const input = bytes(
        frame({ opcode: 1, fin: false, payload: 'Hel' }),
        frame({ opcode: 9, payload: 'hi' }),
        frame({ opcode: 0, fin: false, payload: 'l' }),
        frame({ opcode: 0xa, payload: 'yo' }),
        frame({ opcode: 0, payload: 'o' }),
      );
      expectOutcome(t, role, input, {
        events: [
          { type: 'ping', data: '68 69' },
          { type: 'pong', data: '79 6f' },
          { type: 'text', data: 'Hello' },
        ],
        sent: ownFrameHex(role, { opcode: 0xa, payload: 'hi' }),
        state: 'open',
      });
    });

    t.test(`${role} receives binary in three fragments, empty ones included`, async (t) => {
      const input = bytes(
        frame({ opcode: 2, fin: false }),
        frame({ opcode: 0, fin: false, payload: hex('0102') }),
        frame({ opcode: 0, fin: false }),
        frame({ opcode: 0, fin: false, payload: hex('03') }),
        frame({ opcode: 0, fin: true }),
      );
      expectOutcome(t, role, input, { events: [{ type: 'binary', data: '01 02 03' }], sent: '' });
    });

    t.test(`${role} receives an empty fragmented text message`, async (t) => {
      const input = bytes(frame({ opcode: 1, fin: false }), frame({ opcode: 0 }));
      expectOutcome(t, role, input, { events: [{ type: 'text', data: '' }] });
    });

    t.test(`${role} receives two fragmented messages back to back`, async (t) => {
      const input = bytes(
        frame({ opcode: 2, fin: false, payload: hex('01') }),
        frame({ opcode: 0, payload: hex('02') }),
        frame({ opcode: 1, fin: false, payload: 'a' }),
        frame({ opcode: 0, payload: 'b' }),
      );
      expectOutcome(t, role, input, { events: [{ type: 'binary', data: '01 02' }, { type: 'text', data: 'ab' }] });
    });

    t.test(`${role} sends a fragmented message with a ping in the middle`, async (t) => {
      const p = makeProtocol(role);
      p.sendFragment(0x2, hex('01'), false);
      p.sendPing(hex('aa'));
      p.sendFragment(0x0, hex('02'), true);
      t.equal(
        sentHex(p),
        [
          ownFrameHex(role, { opcode: 2, fin: false, payload: hex('01') }),
          ownFrameHex(role, { opcode: 9, payload: hex('aa') }),
          ownFrameHex(role, { opcode: 0, payload: hex('02') }),
        ].join(' '),
      );
    });
  }
});

t.test('RFC 7692 §6.1: sending a message in fragments with permessage-deflate', async (t) => {
  const params = (noTakeover: boolean): DeflateParams => ({
    serverNoContextTakeover: noTakeover,
    clientNoContextTakeover: noTakeover,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
  });
  /** What `role` wrote, as frames read by a parser of the peer's role: FIN, RSV1, opcode and payload. */
  const framesOf = (role: Role, output: readonly Uint8Array[]): { fin: boolean; rsv1: boolean; opcode: number; payload: Buffer }[] => {
    const parser = new FrameParser({ role: role === 'client' ? 'server' : 'client', allowRsv1: true, maxPayloadLength: 1 << 20 });
    for (const chunk of output) parser.push(Buffer.from(chunk));
    const frames = [];
    for (let frame = parser.read(); frame !== undefined; frame = parser.read()) {
      frames.push({ fin: frame.fin, rsv1: frame.rsv1, opcode: frame.opcode, payload: Buffer.from(frame.payload) });
    }
    t.equal(parser.error, undefined, 'well-formed frames');
    return frames;
  };
  /** Inflates a compressed message's payloads independently of src/extensions (node:zlib, §7.2.2). */
  const inflated = (payloads: readonly Buffer[]): string =>
    inflateRawSync(Buffer.concat([...payloads, hex('00 00 ff ff')]), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString();

  for (const role of roles) {
    const peer: Role = role === 'client' ? 'server' : 'client';
    for (const noTakeover of [false, true]) {
      const context = noTakeover ? 'no context takeover' : 'context takeover';
      t.test(`${role} sends text in three fragments with a ping between (${context}): RSV1 on the first frame only, inflates whole`, async (t) => {
        const p = makeProtocol(role, { compressor: new PerMessageDeflate(role, params(noTakeover), { threshold: 1024 }) });
        p.sendFragment(0x1, Buffer.from('Hello, '), false);
        p.sendPing(hex('aa'));
        p.sendFragment(0x0, Buffer.from('fragmented '), false);
        t.equal(p.fragmentedMessageOpcode, 0x1, 'the text message is open');
        p.sendFragment(0x0, Buffer.from('world'), true);
        t.equal(p.fragmentedMessageOpcode, 0, 'and finished');
        const output = p.dataToSend();
        const frames = framesOf(role, output);
        t.same(
          frames.map(({ fin, rsv1, opcode }) => ({ fin, rsv1, opcode })),
          [
            { fin: false, rsv1: true, opcode: 0x1 },
            { fin: true, rsv1: false, opcode: 0x9 },
            { fin: false, rsv1: false, opcode: 0x0 },
            { fin: true, rsv1: false, opcode: 0x0 },
          ],
          'below the threshold and still compressed: a fragmented message has no size to compare',
        );
        const data = frames.filter((frame) => frame.opcode !== 0x9).map((frame) => frame.payload);
        t.equal(inflated(data), 'Hello, fragmented world', 'node:zlib inflates the three payloads to the message');
        const receiver = makeProtocol(peer, { compressor: new PerMessageDeflate(peer, params(noTakeover)) });
        for (const chunk of output) receiver.receiveData(Buffer.from(chunk));
        t.same(plain(receiver.eventsReceived()), [{ type: 'ping', data: 'aa' }, { type: 'text', data: 'Hello, fragmented world' }]);
      });

      t.test(`${role} sends a compressed binary message ending with an empty fragment, then a whole one (${context}): both inflate`, async (t) => {
        const p = makeProtocol(role, { compressor: new PerMessageDeflate(role, params(noTakeover), { threshold: 0 }) });
        p.sendFragment(0x2, Buffer.from('abcabcabc'), false);
        p.sendFragment(0x0, Buffer.alloc(0), true);
        p.sendBinary(Buffer.from('abcabcabc'));
        const output = p.dataToSend();
        const frames = framesOf(role, output);
        t.same(frames.map(({ fin, rsv1, opcode }) => ({ fin, rsv1, opcode })), [
          { fin: false, rsv1: true, opcode: 0x2 },
          { fin: true, rsv1: false, opcode: 0x0 },
          { fin: true, rsv1: true, opcode: 0x2 },
        ]);
        t.equal(toHex(frames[1]!.payload), '00', 'the empty last fragment is the single 00 of §7.2.3.6');
        const receiver = makeProtocol(peer, { compressor: new PerMessageDeflate(peer, params(noTakeover)) });
        for (const chunk of output) receiver.receiveData(Buffer.from(chunk));
        t.same(plain(receiver.eventsReceived()), [
          { type: 'binary', data: toHex(Buffer.from('abcabcabc')) },
          { type: 'binary', data: toHex(Buffer.from('abcabcabc')) },
        ]);
      });
    }

    t.test(`${role} sends fragments with compress: false on the first: no RSV1, payloads as given`, async (t) => {
      const p = makeProtocol(role, { compressor: new PerMessageDeflate(role, params(false), { threshold: 0 }) });
      p.sendFragment(0x1, Buffer.from('Hel'), false, { compress: false });
      p.sendFragment(0x0, Buffer.from('lo'), true, { compress: true });
      t.equal(
        sentHex(p),
        [ownFrameHex(role, { opcode: 1, fin: false, payload: 'Hel' }), ownFrameHex(role, { opcode: 0, payload: 'lo' })].join(' '),
        'the first fragment decides for the message',
      );
    });
  }
});

t.test('RFC 6455 §5.6, §8.1: UTF-8 in text messages fails with 1007', async (t) => {
  for (const role of roles) {
    const frame = (f: RawFrame): Buffer => peerFrame(role, f);
    const invalidSingleFrames: [string, string][] = [
      ['a lone continuation byte', '80'],
      ['an overlong NUL', 'c0 80'],
      ['a surrogate', 'ed a0 80'],
      ['a code point over U+10FFFF', 'f4 90 80 80'],
      ['0xff', '41 ff'],
      ['a code point cut at the end', 'ce ba e1 bd'],
      ['Autobahn 6.3.1', 'ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64'],
    ];
    for (const [name, payload] of invalidSingleFrames) {
      t.test(`${role} receives ${name} in one frame: fails with 1007`, async (t) => {
        expectOutcome(t, role, frame({ opcode: 1, payload: hex(payload) }), failedWith(role, ErrorCode.invalidUtf8, 1007));
      });
    }

    t.test(`${role} receives valid UTF-8 of every length in one frame`, async (t) => {
      expectOutcome(t, role, frame({ opcode: 1, payload: 'a é € 😀 κόσμε' }), { events: [{ type: 'text', data: 'a é € 😀 κόσμε' }] });
    });

    t.test(`${role} receives a byte-order mark: kept in the text`, async (t) => {
      expectOutcome(t, role, frame({ opcode: 1, payload: hex('ef bb bf 41') }), { events: [{ type: 'text', data: '\ufeffA' }] });
      expectOutcome(t, role, bytes(frame({ opcode: 1, fin: false, payload: hex('ef bb') }), frame({ opcode: 0, payload: hex('bf 41') })), {
        events: [{ type: 'text', data: '\ufeffA' }],
      });
    });

    t.test(`${role} receives a 4-byte code point split one byte per fragment: valid`, async (t) => {
      const input = bytes(
        frame({ opcode: 1, fin: false, payload: hex('f0') }),
        frame({ opcode: 0, fin: false, payload: hex('9f') }),
        frame({ opcode: 0, fin: false, payload: hex('98') }),
        frame({ opcode: 0, fin: true, payload: hex('80') }),
      );
      expectOutcome(t, role, input, { events: [{ type: 'text', data: '😀' }], sent: '' });
    });

    t.test(`${role} receives a 2-byte code point split across fragments with a ping between: valid`, async (t) => {
      const input = bytes(frame({ opcode: 1, fin: false, payload: hex('ce') }), frame({ opcode: 9 }), frame({ opcode: 0, payload: hex('ba') }));
      expectOutcome(t, role, input, { events: [{ type: 'ping', data: '' }, { type: 'text', data: 'κ' }] });
    });

    t.test(`${role} receives a message whose last fragment ends inside a code point: fails with 1007`, async (t) => {
      const input = bytes(frame({ opcode: 1, fin: false, payload: 'ok' }), frame({ opcode: 0, payload: hex('f0 9f 98') }));
      expectOutcome(t, role, input, failedWith(role, ErrorCode.invalidUtf8, 1007));
    });

    // Autobahn 6.4.1-6.4.2: the message is never finished; the failure must come with the fragment that
    // holds the first invalid byte (RFC 6455 §8.1: "MUST _Fail the WebSocket Connection_" on invalid data).
    const failFast: [string, string[], number][] = [
      ['Autobahn 6.4.1', ['ce ba e1 bd b9 cf 83 ce bc ce b5', 'f4 90 80 80', '65 64 69 74 65 64'], 1],
      ['Autobahn 6.4.2', ['ce ba e1 bd b9 cf 83 ce bc ce b5 f4', '90 80 80 65 64 69 74 65 64', '65 64'], 1],
      ['invalid in the first fragment', ['41 ff', '42'], 0],
      ['a truncated sequence followed by ASCII', ['e1 bd', '41', '42'], 1],
    ];
    for (const [name, fragments, failingIndex] of failFast) {
      t.test(`${role} receives ${name}: fails with 1007 at fragment ${failingIndex + 1}, before the message ends`, async (t) => {
        const frames = fragments.map((payload, i) =>
          frame({ opcode: i === 0 ? 1 : 0, fin: false, payload: hex(payload) }),
        );
        const p = makeProtocol(role);
        for (let i = 0; i < frames.length; i++) {
          p.receiveData(Buffer.from(frames[i]!));
          const events = plain(p.eventsReceived());
          if (i < failingIndex) t.same(events, [], `fragment ${i + 1}: no event yet`);
          if (i === failingIndex) t.same(events, [{ type: 'error', code: ErrorCode.invalidUtf8, closeCode: 1007 }], `fragment ${i + 1}: fails`);
          if (i > failingIndex) t.same(events, [], `fragment ${i + 1}: ignored`);
        }
        expectOutcome(t, role, bytes(...frames), failedWith(role, ErrorCode.invalidUtf8, 1007));
      });
    }

    // Fail-fast inside one frame: the frame is split in two reads at every point; the connection fails with
    // the read that makes the text known to be invalid, before the frame is complete. `known` is the
    // payload index of the byte that settles it (a sequence that can no longer become valid counts).
    const withinFrame: [string, string, number | undefined][] = [
      ['an impossible byte', '41 42 ff 43 44', 2],
      ['a code point above U+10FFFF (F4 90)', '41 f4 90 80 80 45', 2],
      ['a surrogate (ED A0)', '41 ed a0 80 45', 2],
      ['an overlong lead C0', 'c0 80 41', 0],
      ['a 3-byte start followed by a space', '41 e0 20 42', 2],
      ['valid text split anywhere', '41 f0 9f 98 80 ce ba 42', undefined],
    ];
    for (const [name, payload, known] of withinFrame) {
      t.test(`${role} receives one text frame with ${name} in two reads: ${known === undefined ? 'delivered' : 'fails as soon as it is known'}`, async (t) => {
        const whole = frame({ opcode: 1, payload: hex(payload) });
        const headerLength = whole.length - hex(payload).length;
        for (let split = 1; split < whole.length; split++) {
          const p = makeProtocol(role);
          p.receiveData(Buffer.from(whole.subarray(0, split)));
          const first = plain(p.eventsReceived());
          const settled = known !== undefined && split > headerLength + known;
          t.same(first, settled ? [{ type: 'error', code: ErrorCode.invalidUtf8, closeCode: 1007 }] : [], `split at ${split}: ${settled ? 'fails in the first read' : 'nothing yet'}`);
          p.receiveData(Buffer.from(whole.subarray(split)));
          const second = plain(p.eventsReceived());
          if (known === undefined) t.same(second, [{ type: 'text', data: Buffer.from(hex(payload)).toString('utf8') }], `split at ${split}: delivered`);
          else if (!settled) t.same(second, [{ type: 'error', code: ErrorCode.invalidUtf8, closeCode: 1007 }], `split at ${split}: fails in the second read`);
          else t.same(second, [], `split at ${split}: the rest is ignored`);
        }
      });
    }

    t.test(`${role} receives a continuation frame in progress that cannot continue the previous fragment's code point: fails at once`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(Buffer.from(frame({ opcode: 1, fin: false, payload: hex('41 f4') })));
      t.same(plain(p.eventsReceived()), [], 'F4 may still start a valid code point');
      const next = frame({ opcode: 0, payload: hex('90 80 80 42') });
      p.receiveData(Buffer.from(next.subarray(0, next.length - 3)));
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.invalidUtf8, closeCode: 1007 }], 'F4 90 cannot: fails before the frame is complete');
    });

    t.test(`${role} receives a continuation frame in progress that completes the previous fragment's code point: no failure`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(Buffer.from(frame({ opcode: 1, fin: false, payload: hex('41 f0 9f') })));
      const next = frame({ opcode: 0, payload: hex('98 80 42 43') });
      p.receiveData(Buffer.from(next.subarray(0, next.length - 2)));
      t.same(plain(p.eventsReceived()), [], 'F0 9F | 98 80: valid so far');
      p.receiveData(Buffer.from(next.subarray(next.length - 2)));
      t.same(plain(p.eventsReceived()), [{ type: 'text', data: 'A😀BC' }]);
    });

    t.test(`${role} receives a binary message with invalid UTF-8: not checked`, async (t) => {
      expectOutcome(t, role, frame({ opcode: 2, payload: hex('ff fe') }), { events: [{ type: 'binary', data: 'ff fe' }] });
    });
  }

  t.test('server fails with 1007: sends exactly 88 02 03 ef', async (t) => {
    expectOutcome(t, 'server', rawFrame({ opcode: 1, payload: hex('ff'), mask: MASK }), { sent: spaced('88 02 03ef') });
  });
});

t.test('RFC 6455 §5.5.2, §5.5.3: ping and pong', async (t) => {
  for (const role of roles) {
    t.test(`${role} receives pings with empty and 125-byte payloads: each pong echoes its payload`, async (t) => {
      const big = Buffer.alloc(125);
      for (let i = 0; i < 125; i++) big[i] = i;
      const input = bytes(peerFrame(role, { opcode: 9 }), peerFrame(role, { opcode: 9, payload: big }));
      expectOutcome(t, role, input, {
        events: [{ type: 'ping', data: '' }, { type: 'ping', data: shown(big) }],
        sent: `${ownFrameHex(role, { opcode: 0xa })} ${ownFrameHex(role, { opcode: 0xa, payload: big })}`,
      });
    });

    t.test(`${role} sends a ping over 125 bytes: throws ${ErrorCode.invalidArgument}`, async (t) => {
      const p = makeProtocol(role);
      t.throws(() => p.sendPing(Buffer.alloc(126)), { code: ErrorCode.invalidArgument });
      t.throws(() => p.sendPong(Buffer.alloc(126)), { code: ErrorCode.invalidArgument });
      t.same(p.dataToSend(), []);
    });

    t.test(`${role} sends an empty ping by default`, async (t) => {
      const p = makeProtocol(role);
      p.sendPing();
      p.sendPong();
      t.equal(sentHex(p), `${ownFrameHex(role, { opcode: 9 })} ${ownFrameHex(role, { opcode: 0xa })}`);
    });
  }
});

t.test('RFC 6455 §5.5.1, §7: closing handshake', async (t) => {
  for (const role of roles) {
    const frame = (f: RawFrame): Buffer => peerFrame(role, f);
    const closesTransport = role === 'server';

    t.test(`${role} receives a close 1000 "bye": echoes 1000, closed, ${closesTransport ? 'closes' : 'waits for the server to close'} the transport`, async (t) => {
      expectOutcome(t, role, frame({ opcode: 8, payload: closeBody(1000, 'bye') }), {
        events: [{ type: 'close', code: 1000, reason: 'bye' }],
        sent: closeFrameOf(role, 1000),
        state: 'closed',
        closeCode: 1000,
        closeReason: 'bye',
        closeSent: true,
        closeReceived: true,
        transportShouldClose: closesTransport,
        failure: undefined,
      });
    });

    t.test(`${role} receives an empty close: echoes an empty close, code 1005`, async (t) => {
      expectOutcome(t, role, frame({ opcode: 8 }), {
        events: [{ type: 'close', code: 1005, reason: '' }],
        sent: closeFrameOf(role),
        state: 'closed',
        closeCode: 1005,
        transportShouldClose: closesTransport,
      });
    });

    t.test(`${role} starts the close: closing, then closed once the peer's close arrives`, async (t) => {
      const p = makeProtocol(role);
      p.sendClose(1001, 'going');
      t.equal(sentHex(p), ownFrameHex(role, { opcode: 8, payload: closeBody(1001, 'going') }));
      t.equal(p.state, 'closing');
      t.equal(p.closeSent, true);
      t.equal(p.transportShouldClose, false);
      p.receiveData(frame({ opcode: 8, payload: closeBody(1001) }));
      t.same(plain(p.eventsReceived()), [{ type: 'close', code: 1001, reason: '' }]);
      t.equal(sentHex(p), '', 'nothing more is sent');
      t.equal(p.state, 'closed');
      t.equal(p.closeCode, 1001);
      t.equal(p.transportShouldClose, closesTransport);
    });

    t.test(`${role} starts the close without a code: sends an empty close`, async (t) => {
      const p = makeProtocol(role);
      p.sendClose();
      t.equal(sentHex(p), closeFrameOf(role));
    });

    t.test(`${role} calls sendClose twice: the second call is ignored`, async (t) => {
      const p = makeProtocol(role);
      p.sendClose(1000);
      p.dataToSend();
      p.sendClose(1001);
      t.equal(sentHex(p), '');
    });

    t.test(`${role} calls sendClose with a code that may not be sent: throws, stays open`, async (t) => {
      const p = makeProtocol(role);
      t.throws(() => p.sendClose(1006), { code: ErrorCode.invalidArgument });
      t.throws(() => p.sendClose(1000, 'x'.repeat(124)), { code: ErrorCode.invalidArgument });
      t.equal(p.state, 'open');
      t.equal(p.closeSent, false);
      t.equal(sentHex(p), '');
    });

    t.test(`${role} receives frames after the peer's close: ignored`, async (t) => {
      const input = bytes(
        frame({ opcode: 8, payload: closeBody(1000) }),
        frame({ opcode: 1, payload: 'late' }),
        frame({ opcode: 9 }),
        hex('ff ff ff ff'),
      );
      expectOutcome(t, role, input, { events: [{ type: 'close', code: 1000, reason: '' }], sent: closeFrameOf(role, 1000), failure: undefined });
    });

    t.test(`${role} receives a close in the middle of a fragmented message: the fragments are dropped`, async (t) => {
      const input = bytes(frame({ opcode: 1, fin: false, payload: 'par' }), frame({ opcode: 8, payload: closeBody(1000) }));
      expectOutcome(t, role, input, { events: [{ type: 'close', code: 1000, reason: '' }], state: 'closed' });
    });

    t.test(`${role} after sending a close receives a message: delivered (the peer may still be sending)`, async (t) => {
      const p = makeProtocol(role);
      p.sendClose(1000);
      p.dataToSend();
      p.receiveData(frame({ opcode: 1, payload: 'last words' }));
      t.same(plain(p.eventsReceived()), [{ type: 'text', data: 'last words' }]);
      t.equal(p.state, 'closing');
    });

    t.test(`${role} after sending a close receives a fragmented message: assembled, not a protocol error`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(frame({ opcode: 2, fin: false, payload: hex('01') }));
      p.sendClose(1000);
      p.dataToSend();
      p.receiveData(bytes(frame({ opcode: 0, payload: hex('02') }), frame({ opcode: 1, fin: false, payload: 'a' }), frame({ opcode: 0, payload: 'b' })));
      t.same(plain(p.eventsReceived()), [
        { type: 'binary', data: '01 02' },
        { type: 'text', data: 'ab' },
      ]);
      t.equal(p.failure, undefined);
      t.equal(sentHex(p), '');
    });

    t.test(`${role} after sending a close receives a ping: reported, not answered (no frames after a close)`, async (t) => {
      const p = makeProtocol(role);
      p.sendClose(1000);
      p.dataToSend();
      p.receiveData(frame({ opcode: 9, payload: 'x' }));
      t.same(plain(p.eventsReceived()), [{ type: 'ping', data: '78' }]);
      t.equal(sentHex(p), '');
    });

    t.test(`${role} after sending a close receives invalid data: still fails, without a second close frame`, async (t) => {
      const p = makeProtocol(role);
      p.sendClose(1000);
      p.dataToSend();
      p.receiveData(frame({ opcode: 1, payload: hex('ff') }));
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.invalidUtf8, closeCode: 1007 }]);
      t.equal(sentHex(p), '');
      t.equal(p.transportShouldClose, true);
    });

    const sends: [string, (p: ReturnType<typeof makeProtocol>) => void][] = [
      ['sendText', (p) => p.sendText('x')],
      ['sendBinary', (p) => p.sendBinary(hex('01'))],
      ['sendFragment', (p) => p.sendFragment(0x1, hex('41'), true)],
      ['sendPing', (p) => p.sendPing()],
      ['sendPong', (p) => p.sendPong()],
      ['sendFrames', (p) => p.sendFrames([hex('81 00')])],
    ];
    const ends: [string, (p: ReturnType<typeof makeProtocol>) => void][] = [
      ['after sendClose', (p) => p.sendClose(1000)],
      ["after the peer's close", (p) => p.receiveData(frame({ opcode: 8 }))],
      ['after a failure', (p) => p.receiveData(hex('ff 00'))],
      ['after EOF', (p) => p.receiveEof()],
    ];
    for (const [endName, end] of ends) {
      for (const [sendName, send] of sends) {
        if (sendName === 'sendFrames' && role === 'client') continue;
        t.test(`${role} calls ${sendName} ${endName}: throws ${ErrorCode.notOpen}`, async (t) => {
          const p = makeProtocol(role);
          end(p);
          p.dataToSend();
          t.throws(() => send(p), { code: ErrorCode.notOpen });
          t.equal(sentHex(p), '');
        });
      }
    }

    t.test(`${role} receives EOF without a close frame: closed with 1006`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(frame({ opcode: 1, fin: false, payload: 'part' }));
      p.receiveEof();
      t.equal(p.state, 'closed');
      t.equal(p.closeCode, 1006);
      t.equal(p.closeReceived, false);
      t.equal(p.transportShouldClose, true);
      t.same(p.eventsReceived(), []);
      t.equal(sentHex(p), '');
    });

    t.test(`${role} receives EOF after sending a close: closed with 1006`, async (t) => {
      const p = makeProtocol(role);
      p.sendClose(1000);
      p.receiveEof();
      t.equal(p.state, 'closed');
      t.equal(p.closeCode, 1006);
    });

    t.test(`${role} receives EOF after the closing handshake: keeps the peer's code, ends the transport`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(frame({ opcode: 8, payload: closeBody(4001, 'done') }));
      p.receiveEof();
      t.equal(p.state, 'closed');
      t.equal(p.closeCode, 4001);
      t.equal(p.closeReason, 'done');
      t.equal(p.transportShouldClose, true);
    });

    t.test(`${role} receives EOF after failing: keeps the failure's code`, async (t) => {
      const p = makeProtocol(role);
      p.receiveData(hex('ff 00'));
      p.receiveEof();
      t.equal(p.state, 'closed');
      t.equal(p.closeCode, 1002);
    });

    t.test(`${role} receives data after EOF: ignored`, async (t) => {
      const p = makeProtocol(role);
      p.receiveEof();
      p.receiveData(frame({ opcode: 1, payload: 'x' }));
      t.same(p.eventsReceived(), []);
      t.equal(sentHex(p), '');
    });
  }
});

t.test('RFC 6455 §7.4: close codes', async (t) => {
  for (const role of roles) {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
      t.test(`${role} receives close ${code}: accepted and echoed`, async (t) => {
        expectOutcome(t, role, peerFrame(role, { opcode: 8, payload: closeBody(code, 'r') }), {
          events: [{ type: 'close', code, reason: 'r' }],
          sent: closeFrameOf(role, code),
          closeCode: code,
          failure: undefined,
        });
      });
    }

    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) {
      t.test(`${role} receives close ${code}: fails with 1002`, async (t) => {
        expectOutcome(t, role, peerFrame(role, { opcode: 8, payload: closeBody(code) }), failedWith(role, ErrorCode.invalidCloseCode, 1002));
      });
    }

    t.test(`${role} receives a close whose reason is not UTF-8: fails with 1007`, async (t) => {
      expectOutcome(t, role, peerFrame(role, { opcode: 8, payload: closeBody(1000, hex('ce ba ff')) }), failedWith(role, ErrorCode.invalidUtf8, 1007));
    });

    t.test(`${role} receives a close with a 123-byte UTF-8 reason: accepted`, async (t) => {
      const reason = 'é'.repeat(61) + '!';
      expectOutcome(t, role, peerFrame(role, { opcode: 8, payload: closeBody(1000, reason) }), {
        events: [{ type: 'close', code: 1000, reason }],
        closeReason: reason,
      });
    });
  }
});

t.test('RFC 6455 §10.4: maximum message size fails with 1009', async (t) => {
  const limit = { maxMessageSize: 16 };
  for (const role of roles) {
    const frame = (f: RawFrame): Buffer => peerFrame(role, f);
    const headerLength = role === 'server' ? 6 : 2;

    t.test(`${role} receives a single frame over the limit: fails at its header, before the payload`, async (t) => {
      const p = makeProtocol(role, limit);
      p.receiveData(frame({ opcode: 2, payload: Buffer.alloc(17) }).subarray(0, headerLength));
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.messageTooBig, closeCode: 1009 }]);
      t.equal(sentHex(p), closeFrameOf(role, 1009));
      t.equal(p.closeCode, 1009);
      t.equal(p.transportShouldClose, true);
    });

    t.test(`${role} receives a 64-bit length of 1 TiB: fails with 1009 at its header`, async (t) => {
      const input = frame({ opcode: 2, announcedLength: 1n << 40n });
      const p = makeProtocol(role);
      p.receiveData(input);
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.messageTooBig, closeCode: 1009 }]);
    });

    t.test(`${role} receives fragments that pass the limit together: fails at the header of the frame that crosses it`, async (t) => {
      const p = makeProtocol(role, limit);
      p.receiveData(frame({ opcode: 1, fin: false, payload: 'a'.repeat(10) }));
      p.receiveData(frame({ opcode: 9 }));
      t.same(plain(p.eventsReceived()), [{ type: 'ping', data: '' }]);
      p.dataToSend();
      p.receiveData(frame({ opcode: 0, fin: false, payload: 'b'.repeat(6) }));
      t.same(p.eventsReceived(), [], 'exactly at the limit so far');
      p.receiveData(frame({ opcode: 0, payload: 'c' }).subarray(0, headerLength));
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.messageTooBig, closeCode: 1009 }]);
      t.equal(sentHex(p), closeFrameOf(role, 1009));
    });

    t.test(`${role} receives fragments over the limit, at every split point`, async (t) => {
      const input = bytes(frame({ opcode: 2, fin: false, payload: Buffer.alloc(9) }), frame({ opcode: 0, payload: Buffer.alloc(8) }));
      expectOutcome(t, role, input, failedWith(role, ErrorCode.messageTooBig, 1009), limit);
    });

    t.test(`${role} receives messages exactly at the limit, whole and fragmented: accepted`, async (t) => {
      const input = bytes(
        frame({ opcode: 1, payload: 'x'.repeat(16) }),
        frame({ opcode: 1, fin: false, payload: 'y'.repeat(8) }),
        frame({ opcode: 9, payload: Buffer.alloc(100) }),
        frame({ opcode: 0, payload: 'y'.repeat(8) }),
        frame({ opcode: 2, fin: false, payload: Buffer.alloc(16) }),
        frame({ opcode: 0 }),
      );
      expectOutcome(
        t,
        role,
        input,
        {
          events: [
            { type: 'text', data: 'x'.repeat(16) },
            { type: 'ping', data: shown(Buffer.alloc(100)) },
            { type: 'text', data: 'y'.repeat(16) },
            { type: 'binary', data: shown(Buffer.alloc(16)) },
          ],
          failure: undefined,
        },
        limit,
      );
    });

    t.test(`${role} the limit applies per message: a new message starts from zero`, async (t) => {
      const input = bytes(
        frame({ opcode: 2, fin: false, payload: Buffer.alloc(8) }),
        frame({ opcode: 0, payload: Buffer.alloc(8) }),
        frame({ opcode: 2, fin: false, payload: Buffer.alloc(8) }),
        frame({ opcode: 0, payload: Buffer.alloc(8) }),
      );
      expectOutcome(t, role, input, { failure: undefined, state: 'open' }, limit);
    });
  }
});

t.test('sending data', async (t) => {
  for (const role of roles) {
    t.test(`${role} sends text with multi-byte UTF-8`, async (t) => {
      const p = makeProtocol(role);
      p.sendText('κόσμε 😀');
      t.equal(sentHex(p), ownFrameHex(role, { opcode: 1, payload: 'κόσμε 😀' }));
    });

    t.test(`${role} sends an empty text and an empty binary message`, async (t) => {
      const p = makeProtocol(role);
      p.sendText('');
      p.sendBinary(new Uint8Array(0));
      t.equal(sentHex(p), `${ownFrameHex(role, { opcode: 1 })} ${ownFrameHex(role, { opcode: 2 })}`);
    });

    t.test(`${role} sends binary from a Uint8Array view`, async (t) => {
      const backing = Uint8Array.from([9, 1, 2, 3, 9]);
      const p = makeProtocol(role);
      p.sendBinary(backing.subarray(1, 4));
      t.equal(sentHex(p), ownFrameHex(role, { opcode: 2, payload: hex('010203') }));
      t.same([...backing], [9, 1, 2, 3, 9], 'the caller\'s bytes are not masked in place');
    });

    for (const length of [125, 126, 65535, 65536]) {
      t.test(`${role} sends ${length} bytes: the minimal length form`, async (t) => {
        const payload = Buffer.alloc(length, 0x42);
        const p = makeProtocol(role);
        p.sendBinary(payload);
        t.ok(Buffer.concat(p.dataToSend()).equals(rawFrame(role === 'client' ? { opcode: 2, payload, mask: MASK } : { opcode: 2, payload })));
      });
    }

    t.test(`${role} sends a continuation with no message started: throws ${ErrorCode.invalidArgument}`, async (t) => {
      const p = makeProtocol(role);
      t.throws(() => p.sendFragment(0x0, hex('41'), true), { code: ErrorCode.invalidArgument });
      t.equal(sentHex(p), '');
    });

    t.test(`${role} starts a new message inside its own fragmented message: throws ${ErrorCode.invalidArgument}`, async (t) => {
      const p = makeProtocol(role);
      p.sendFragment(0x1, hex('41'), false);
      p.dataToSend();
      t.throws(() => p.sendFragment(0x1, hex('41'), true), { code: ErrorCode.invalidArgument });
      t.throws(() => p.sendText('x'), { code: ErrorCode.invalidArgument });
      t.throws(() => p.sendBinary(hex('01')), { code: ErrorCode.invalidArgument });
      t.equal(sentHex(p), '');
      p.sendFragment(0x0, hex('42'), true);
      p.sendText('x');
      t.equal(sentHex(p), `${ownFrameHex(role, { opcode: 0, payload: 'B' })} ${ownFrameHex(role, { opcode: 1, payload: 'x' })}`);
    });

    t.test(`${role} sends a fragment with a control or reserved opcode: throws ${ErrorCode.invalidArgument}`, async (t) => {
      const p = makeProtocol(role);
      for (const opcode of [0x3, 0x8, 0x9, 0xa, 0xf]) {
        t.throws(() => p.sendFragment(opcode, hex('41'), true), { code: ErrorCode.invalidArgument }, `opcode 0x${opcode.toString(16)}`);
      }
      t.equal(sentHex(p), '');
    });
  }

  t.test('encodeMessage + sendFrames: a server shares one encoding between connections', async (t) => {
    const frames = encodeMessage(Buffer.from('Hello'), { binary: false });
    t.equal(toHex(frames), spaced('81 05 48656c6c6f'));
    const a = makeProtocol('server');
    const b = makeProtocol('server');
    a.sendFrames(frames);
    b.sendFrames(frames);
    t.equal(sentHex(a), spaced('81 05 48656c6c6f'));
    t.equal(sentHex(b), spaced('81 05 48656c6c6f'));
    t.equal(toHex(encodeMessage(hex('0102'), { binary: true })), '82 02 01 02');
  });

  t.test(`client calls sendFrames: throws ${ErrorCode.invalidArgument} (client frames must be masked, one key each)`, async (t) => {
    const client = makeProtocol('client');
    t.throws(() => client.sendFrames(encodeMessage(hex('01'), { binary: true })), { code: ErrorCode.invalidArgument });
    t.equal(sentHex(client), '');
  });

  t.test('hasDataToSend tracks dataToSend', async (t) => {
    const p = makeProtocol('server');
    t.equal(p.hasDataToSend, false);
    p.sendText('a');
    t.equal(p.hasDataToSend, true);
    p.dataToSend();
    t.equal(p.hasDataToSend, false);
  });
});

t.test('RFC 6455 §7.1.7: failing the connection from the adapter', async (t) => {
  for (const role of roles) {
    t.test(`${role} fails with 1011: sends close 1011, reports the error, ends the transport`, async (t) => {
      const p = makeProtocol(role);
      p.fail(new WebSocketError(ErrorCode.closeTimeout, 'internal', 1011));
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.closeTimeout, closeCode: 1011 }]);
      t.equal(sentHex(p), closeFrameOf(role, 1011));
      t.equal(p.closeCode, 1011);
      t.equal(p.transportShouldClose, true);
    });

    t.test(`${role} fails with 1006 (a dead peer): no close frame, since 1006 may not be sent`, async (t) => {
      const p = makeProtocol(role);
      t.doesNotThrow(() => p.fail(new WebSocketError(ErrorCode.keepaliveTimeout, 'no pong', 1006)));
      t.same(plain(p.eventsReceived()), [{ type: 'error', code: ErrorCode.keepaliveTimeout, closeCode: 1006 }]);
      t.equal(sentHex(p), '');
      t.equal(p.closeCode, 1006);
      t.equal(p.transportShouldClose, true);
    });

    t.test(`${role} fails with an error without a close code: sends 1002`, async (t) => {
      const p = makeProtocol(role);
      p.fail(new WebSocketError(ErrorCode.invalidArgument, 'x'));
      t.equal(sentHex(p), closeFrameOf(role, 1002));
    });

    t.test(`${role} fails twice: the second is ignored`, async (t) => {
      const p = makeProtocol(role);
      p.fail(new WebSocketError(ErrorCode.closeTimeout, 'a', 1011));
      p.fail(new WebSocketError(ErrorCode.closeTimeout, 'b', 1001));
      t.equal(plain(p.eventsReceived()).length, 1);
      t.equal(sentHex(p), closeFrameOf(role, 1011));
    });
  }
});
