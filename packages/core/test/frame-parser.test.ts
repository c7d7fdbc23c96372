import t, { type Test } from 'tap';
import type { Role } from '../src/constants.js';
import { ErrorCode } from '../src/errors.js';
import { FrameParser, type FrameParserOptions } from '../src/index.js';
import { rawFrame, type RawFrame } from './helpers/frames.js';
import { bytes, hex, shown, toHex } from './helpers/hex.js';
import { chunkings, MASK } from './helpers/sans-io.js';

interface ParsedFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: string;
}

interface ParseResult {
  frames: ParsedFrame[];
  error: { code: string; closeCode: number | undefined } | undefined;
  bufferedBytes: number;
}

function parser(role: Role, options: Partial<Omit<FrameParserOptions, 'role'>> = {}): FrameParser {
  return new FrameParser({ role, allowRsv1: false, maxPayloadLength: 1 << 20, ...options });
}

/** Pushes each chunk (a copy: the parser unmasks in place) and reads every frame it completes. */
function parse(role: Role, chunks: readonly Uint8Array[], options: Partial<Omit<FrameParserOptions, 'role'>> = {}): ParseResult {
  const p = parser(role, options);
  const frames: ParsedFrame[] = [];
  for (const chunk of chunks) {
    p.push(Buffer.from(chunk));
    for (let frame = p.read(); frame !== undefined; frame = p.read()) {
      frames.push({ fin: frame.fin, rsv1: frame.rsv1, opcode: frame.opcode, payload: shown(frame.payload) });
    }
  }
  const error = p.error === undefined ? undefined : { code: p.error.code, closeCode: p.error.closeCode };
  return { frames, error, bufferedBytes: p.bufferedBytes };
}

/** Parses `input` in every chunking and checks all give the result of parsing it whole. */
function parseEveryWay(
  t: Test,
  role: Role,
  input: Uint8Array,
  options: Partial<Omit<FrameParserOptions, 'role'>> = {},
): ParseResult {
  const [whole, ...rest] = chunkings(input);
  const reference = parse(role, whole!.chunks, options);
  const mismatched = rest.find((chunking) => JSON.stringify(parse(role, chunking.chunks, options)) !== JSON.stringify(reference));
  t.equal(mismatched?.name, undefined, 'every chunking parses the same');
  return reference;
}

/** A frame from the peer of `role`: masked with MASK when the peer is a client. */
function fromPeer(role: Role, frame: RawFrame): Buffer {
  return rawFrame(role === 'server' ? { mask: MASK, ...frame } : frame);
}

const roles: Role[] = ['client', 'server'];

t.test('RFC 6455 §5.7: examples, parsed', async (t) => {
  t.test('client receives single-frame unmasked text "Hello"', async (t) => {
    t.same(parseEveryWay(t, 'client', hex('81 05 48656c6c6f')).frames, [
      { fin: true, rsv1: false, opcode: 1, payload: '48 65 6c 6c 6f' },
    ]);
  });

  t.test('server receives single-frame masked text "Hello", unmasked', async (t) => {
    t.same(parseEveryWay(t, 'server', hex('81 85 37fa213d 7f9f4d5158')).frames, [
      { fin: true, rsv1: false, opcode: 1, payload: '48 65 6c 6c 6f' },
    ]);
  });

  t.test('client receives fragmented "Hel" + "lo" as two frames', async (t) => {
    t.same(parseEveryWay(t, 'client', hex('01 03 48656c 80 02 6c6f')).frames, [
      { fin: false, rsv1: false, opcode: 1, payload: '48 65 6c' },
      { fin: true, rsv1: false, opcode: 0, payload: '6c 6f' },
    ]);
  });

  t.test('client receives unmasked ping and pong "Hello"', async (t) => {
    t.same(parseEveryWay(t, 'client', hex('89 05 48656c6c6f 8a 05 48656c6c6f')).frames, [
      { fin: true, rsv1: false, opcode: 9, payload: '48 65 6c 6c 6f' },
      { fin: true, rsv1: false, opcode: 10, payload: '48 65 6c 6c 6f' },
    ]);
  });

  t.test('client receives 256 bytes binary with a 16-bit length', async (t) => {
    const payload = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) payload[i] = i;
    const result = parseEveryWay(t, 'client', bytes('82 7e 0100', payload));
    t.same(result.frames, [{ fin: true, rsv1: false, opcode: 2, payload: shown(payload) }]);
  });

  t.test('client receives 64 KiB binary with a 64-bit length', async (t) => {
    const payload = Buffer.alloc(65536);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const result = parseEveryWay(t, 'client', bytes('82 7f 0000000000010000', payload));
    t.same(result.frames, [{ fin: true, rsv1: false, opcode: 2, payload: shown(payload) }]);
  });

  t.test('server receives 64 KiB binary masked with 37 fa 21 3d', async (t) => {
    const payload = Buffer.alloc(65536);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const input = rawFrame({ opcode: 2, payload, mask: MASK });
    t.equal(toHex(input.subarray(0, 14)), '82 ff 00 00 00 00 00 01 00 00 37 fa 21 3d');
    const result = parseEveryWay(t, 'server', input);
    t.same(result.frames, [{ fin: true, rsv1: false, opcode: 2, payload: shown(payload) }]);
  });
});

t.test('RFC 6455 §5.2: lengths', async (t) => {
  for (const role of roles) {
    t.test(`${role} receives empty payloads of every kind`, async (t) => {
      const input = bytes(...[1, 2, 9, 10, 8].map((opcode) => fromPeer(role, { opcode })));
      t.same(
        parseEveryWay(t, role, input).frames.map((frame) => [frame.opcode, frame.payload]),
        [[1, ''], [2, ''], [9, ''], [10, ''], [8, '']],
      );
    });

    for (const length of [125, 126, 127, 65535, 65536]) {
      t.test(`${role} receives ${length} bytes in the minimal length form`, async (t) => {
        const payload = Buffer.alloc(length, 0x61);
        const result = parse(role, [fromPeer(role, { opcode: 2, payload })]);
        t.equal(result.frames.length, 1);
        t.equal(result.frames[0]?.payload, shown(payload));
      });
    }

    t.test(`${role} accepts a non-minimal 16-bit and 64-bit length for a 5-byte payload`, async (t) => {
      const input = bytes(
        fromPeer(role, { opcode: 1, payload: 'Hello', lengthForm: 16 }),
        fromPeer(role, { opcode: 1, payload: 'Hello', lengthForm: 64 }),
      );
      t.same(parseEveryWay(t, role, input).frames.map((frame) => frame.payload), ['48 65 6c 6c 6f', '48 65 6c 6c 6f']);
    });
  }

  t.test('client receives a 64-bit length with the top bit set: fails with 1002 after the 8 length bytes', async (t) => {
    const result = parseEveryWay(t, 'client', hex('82 7f 8000000000000005 0102030405'));
    t.same(result.error, { code: ErrorCode.invalidLength, closeCode: 1002 });
    t.same(result.frames, []);
  });

  t.test('client receives a 64-bit length of 2^53: fails with 1009', async (t) => {
    const result = parse('client', [hex('82 7f 0020000000000000')], { maxPayloadLength: Number.MAX_SAFE_INTEGER });
    t.same(result.error, { code: ErrorCode.messageTooBig, closeCode: 1009 });
  });

  t.test('client receives a 64-bit length of 2^53 - 1 with no limit: waits for the payload', async (t) => {
    const result = parse('client', [hex('82 7f 001fffffffffffff 00')], { maxPayloadLength: Number.MAX_SAFE_INTEGER });
    t.same(result.error, undefined);
    t.equal(result.bufferedBytes, 1);
  });
});

t.test('RFC 6455 §5.1: masking direction', async (t) => {
  t.test('server receives an unmasked frame: fails with 1002', async (t) => {
    t.same(parseEveryWay(t, 'server', hex('81 05 48656c6c6f')).error, { code: ErrorCode.expectedMask, closeCode: 1002 });
  });

  t.test('client receives a masked frame: fails with 1002', async (t) => {
    t.same(parseEveryWay(t, 'client', hex('81 85 37fa213d 7f9f4d5158')).error, { code: ErrorCode.unexpectedMask, closeCode: 1002 });
  });

  t.test('server receives an unmasked empty control frame: fails with 1002', async (t) => {
    t.same(parse('server', [hex('89 00')]).error, { code: ErrorCode.expectedMask, closeCode: 1002 });
  });
});

t.test('RFC 6455 §5.2: reserved bits and opcodes', async (t) => {
  for (const role of roles) {
    for (const [rsv, name] of [[4, 'RSV1'], [2, 'RSV2'], [1, 'RSV3'], [7, 'all three']] as const) {
      t.test(`${role} receives ${name} without an extension: fails with 1002`, async (t) => {
        const result = parseEveryWay(t, role, fromPeer(role, { opcode: 1, rsv, payload: 'x' }));
        t.same(result.error, { code: ErrorCode.unexpectedRsv, closeCode: 1002 });
        t.same(result.frames, []);
      });
    }

    for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      t.test(`${role} receives reserved opcode 0x${opcode.toString(16)}: fails with 1002`, async (t) => {
        const result = parseEveryWay(t, role, fromPeer(role, { opcode, payload: 'x' }));
        t.same(result.error, { code: ErrorCode.invalidOpcode, closeCode: 1002 });
      });
    }
  }

  t.test('RFC 7692 §6: with RSV1 allowed', async (t) => {
    t.test('client receives RSV1 on a text frame: reported on the frame', async (t) => {
      t.same(parse('client', [hex('c1 01 00')], { allowRsv1: true }).frames, [{ fin: true, rsv1: true, opcode: 1, payload: '00' }]);
    });

    t.test('client receives RSV1 on a continuation frame: fails with 1002', async (t) => {
      t.same(parse('client', [hex('41 01 00 c0 01 00')], { allowRsv1: true }).error, { code: ErrorCode.unexpectedRsv, closeCode: 1002 });
    });

    t.test('client receives RSV1 on a ping: fails with 1002', async (t) => {
      t.same(parse('client', [hex('c9 00')], { allowRsv1: true }).error, { code: ErrorCode.unexpectedRsv, closeCode: 1002 });
    });

    t.test('client receives RSV2 still: fails with 1002', async (t) => {
      t.same(parse('client', [hex('a1 01 00')], { allowRsv1: true }).error, { code: ErrorCode.unexpectedRsv, closeCode: 1002 });
    });

    t.test('allowRsv1 turned on mid-stream applies to later frames', async (t) => {
      const p = parser('client');
      p.allowRsv1 = true;
      p.push(hex('c2 01 00'));
      t.equal(p.read()?.rsv1, true);
      t.equal(p.error, undefined);
    });
  });
});

t.test('RFC 6455 §5.5: control frames', async (t) => {
  for (const role of roles) {
    for (const opcode of [8, 9, 10]) {
      t.test(`${role} receives opcode ${opcode} with FIN=0: fails with 1002`, async (t) => {
        t.same(parseEveryWay(t, role, fromPeer(role, { opcode, fin: false })).error, {
          code: ErrorCode.fragmentedControlFrame,
          closeCode: 1002,
        });
      });

      t.test(`${role} receives opcode ${opcode} with 125 bytes: accepted`, async (t) => {
        const result = parse(role, [fromPeer(role, { opcode, payload: Buffer.alloc(125, 0x30) })]);
        t.equal(result.error, undefined);
        t.equal(result.frames.length, 1);
      });

      t.test(`${role} receives opcode ${opcode} announcing 126 bytes: fails with 1002 at the header`, async (t) => {
        // Only the two header bytes: the failure must not wait for a length or payload.
        const header = fromPeer(role, { opcode, payload: Buffer.alloc(126) }).subarray(0, 2);
        t.same(parse(role, [header]).error, { code: ErrorCode.controlFrameTooLong, closeCode: 1002 });
      });
    }
  }
});

t.test('RFC 6455 §10.4: maximum payload length', async (t) => {
  for (const role of roles) {
    t.test(`${role} receives a data frame over the limit: fails with 1009 before its payload arrives`, async (t) => {
      const header = fromPeer(role, { opcode: 2, payload: Buffer.alloc(1001) });
      const headerLength = role === 'server' ? 8 : 4;
      const result = parse(role, [header.subarray(0, headerLength)], { maxPayloadLength: 1000 });
      t.same(result.error, { code: ErrorCode.messageTooBig, closeCode: 1009 });
    });

    t.test(`${role} receives a data frame exactly at the limit: accepted`, async (t) => {
      const result = parse(role, [fromPeer(role, { opcode: 2, payload: Buffer.alloc(1000) })], { maxPayloadLength: 1000 });
      t.equal(result.error, undefined);
      t.equal(result.frames.length, 1);
    });

    t.test(`${role} receives a 64-bit length over the limit: fails with 1009`, async (t) => {
      const result = parse(role, [fromPeer(role, { opcode: 0, fin: true, announcedLength: 0x1_0000_0000n })], { maxPayloadLength: 1000 });
      t.same(result.error, { code: ErrorCode.messageTooBig, closeCode: 1009 });
    });

    t.test(`${role} receives a control frame longer than a tiny limit: the limit is for data frames`, async (t) => {
      const result = parse(role, [fromPeer(role, { opcode: 9, payload: Buffer.alloc(100) })], { maxPayloadLength: 10 });
      t.equal(result.error, undefined);
      t.equal(result.frames.length, 1);
    });
  }
});

t.test('parser contract', async (t) => {
  t.test('nothing is returned until a frame is complete, and bufferedBytes counts what waits', async (t) => {
    const p = parser('client');
    p.push(hex('81 05 48'));
    t.equal(p.read(), undefined);
    t.equal(p.bufferedBytes, 1);
    p.push(hex('65 6c 6c'));
    t.equal(p.read(), undefined);
    t.equal(p.bufferedBytes, 4);
    p.push(hex('6f 82'));
    t.equal(p.read()?.payload.toString(), 'Hello');
    t.equal(p.bufferedBytes, 1);
    t.equal(p.read(), undefined);
  });

  t.test('after an error it yields nothing more, whatever it is fed', async (t) => {
    const p = parser('client');
    p.push(hex('83 00 81 05 48656c6c6f'));
    t.equal(p.read(), undefined);
    t.equal(p.error?.code, ErrorCode.invalidOpcode);
    p.push(hex('81 05 48656c6c6f'));
    t.equal(p.read(), undefined);
    t.equal(p.bufferedBytes, 0);
  });

  t.test('frames before a bad one are still returned, in order', async (t) => {
    const result = parse('client', [hex('81 01 41 81 01 42 8f 00 81 01 43')]);
    t.same(result.frames.map((frame) => frame.payload), ['41', '42']);
    t.same(result.error, { code: ErrorCode.invalidOpcode, closeCode: 1002 });
  });

  t.test('empty chunks are ignored', async (t) => {
    t.same(parse('client', [hex(''), hex('81'), hex(''), hex('00')]).frames, [{ fin: true, rsv1: false, opcode: 1, payload: '' }]);
  });

  t.test('server receives many masked frames in one chunk, each unmasked with its own key', async (t) => {
    const input = bytes(
      rawFrame({ opcode: 1, payload: 'one', mask: hex('01020304') }),
      rawFrame({ opcode: 1, payload: 'two', mask: hex('a0b0c0d0') }),
      rawFrame({ opcode: 1, payload: 'three', mask: hex('00000000') }),
    );
    t.same(
      parseEveryWay(t, 'server', input).frames.map((frame) => Buffer.from(frame.payload.replace(/ /g, ''), 'hex').toString()),
      ['one', 'two', 'three'],
    );
  });
});
