import t from 'tap';
import { Opcode } from '../src/constants.js';
import { encodeFrame } from '../src/index.js';
import { rawFrame } from './helpers/frames.js';
import { hex, spaced, toHex } from './helpers/hex.js';

const MASK = hex('37 fa 21 3d');

t.test('RFC 6455 §5.7: examples, encoded', async (t) => {
  t.test('single-frame unmasked text "Hello"', async (t) => {
    t.equal(toHex(encodeFrame({ fin: true, opcode: Opcode.text, payload: Buffer.from('Hello') })), spaced('81 05 48656c6c6f'));
  });

  t.test('single-frame masked text "Hello"', async (t) => {
    t.equal(
      toHex(encodeFrame({ fin: true, opcode: Opcode.text, payload: Buffer.from('Hello'), mask: MASK })),
      spaced('81 85 37fa213d 7f9f4d5158'),
    );
  });

  t.test('fragmented unmasked text "Hel" + "lo"', async (t) => {
    t.equal(toHex(encodeFrame({ fin: false, opcode: Opcode.text, payload: Buffer.from('Hel') })), spaced('01 03 48656c'));
    t.equal(toHex(encodeFrame({ fin: true, opcode: Opcode.continuation, payload: Buffer.from('lo') })), spaced('80 02 6c6f'));
  });

  t.test('unmasked ping and pong "Hello"', async (t) => {
    t.equal(toHex(encodeFrame({ fin: true, opcode: Opcode.ping, payload: Buffer.from('Hello') })), spaced('89 05 48656c6c6f'));
    t.equal(toHex(encodeFrame({ fin: true, opcode: Opcode.pong, payload: Buffer.from('Hello') })), spaced('8a 05 48656c6c6f'));
  });

  t.test('256 bytes binary in one unmasked frame: 16-bit length', async (t) => {
    const payload = Buffer.alloc(256, 0x5a);
    const out = Buffer.concat(encodeFrame({ fin: true, opcode: Opcode.binary, payload }));
    t.equal(toHex(out.subarray(0, 4)), '82 7e 01 00');
    t.equal(out.length, 4 + 256);
    t.equal(toHex(out.subarray(4)), toHex(payload));
  });

  t.test('64 KiB binary in one unmasked frame: 64-bit length', async (t) => {
    const payload = Buffer.alloc(65536, 0x5a);
    const out = Buffer.concat(encodeFrame({ fin: true, opcode: Opcode.binary, payload }));
    t.equal(toHex(out.subarray(0, 10)), spaced('82 7f 0000000000010000'));
    t.equal(out.length, 10 + 65536);
    t.ok(out.subarray(10).equals(payload));
  });
});

t.test('RFC 6455 §5.2: length forms at their boundaries, both roles', async (t) => {
  for (const length of [0, 1, 125, 126, 127, 1023, 1024, 65535, 65536, 65537, 200_000]) {
    for (const mask of [undefined, MASK]) {
      t.test(`${length} bytes ${mask === undefined ? 'unmasked' : 'masked'}: same bytes as the reference writer`, async (t) => {
        const payload = Buffer.alloc(length);
        for (let i = 0; i < length; i++) payload[i] = (i * 13) & 0xff;
        const out = Buffer.concat(encodeFrame({ fin: true, opcode: Opcode.binary, payload, mask }));
        const expected = mask === undefined ? rawFrame({ opcode: 0x2, payload }) : rawFrame({ opcode: 0x2, payload, mask });
        t.ok(out.equals(expected), `header ${toHex(out.subarray(0, 14))} vs ${toHex(expected.subarray(0, 14))}`);
      });
    }
  }
});

t.test('RFC 6455 §5.2: header bits', async (t) => {
  t.test('FIN=0 clears the top bit', async (t) => {
    t.equal(toHex(encodeFrame({ fin: false, opcode: Opcode.binary, payload: hex('00') })), '02 01 00');
  });

  t.test('RFC 7692 §6: rsv1 sets 0x40', async (t) => {
    t.equal(toHex(encodeFrame({ fin: true, rsv1: true, opcode: Opcode.text, payload: hex('00') })), 'c1 01 00');
  });

  t.test('an empty masked frame still carries its key', async (t) => {
    t.equal(toHex(encodeFrame({ fin: true, opcode: Opcode.close, payload: Buffer.alloc(0), mask: MASK })), spaced('88 80 37fa213d'));
  });
});

t.test('serialization: buffers and copies', async (t) => {
  t.test('a small unmasked frame is one buffer', async (t) => {
    t.equal(encodeFrame({ fin: true, opcode: Opcode.text, payload: Buffer.alloc(1023) }).length, 1);
  });

  t.test('a large unmasked frame is header + the caller\'s payload, not copied', async (t) => {
    const payload = Buffer.alloc(4096, 1);
    const out = encodeFrame({ fin: true, opcode: Opcode.binary, payload });
    t.equal(out.length, 2);
    t.equal(out[1], payload);
  });

  t.test('a large unmasked Uint8Array payload is viewed as a Buffer without copying', async (t) => {
    const backing = new Uint8Array(5000).fill(7);
    const payload = backing.subarray(100, 4196);
    const out = encodeFrame({ fin: true, opcode: Opcode.binary, payload });
    t.equal(out.length, 2);
    t.ok(Buffer.isBuffer(out[1]));
    t.equal(out[1]!.buffer, backing.buffer);
    t.equal(out[1]!.byteOffset, 100);
    t.equal(out[1]!.length, 4096);
  });

  t.test('a masked frame is one buffer and leaves the caller\'s payload unmasked', async (t) => {
    for (const length of [5, 4096]) {
      const payload = Buffer.alloc(length, 0x41);
      const out = encodeFrame({ fin: true, opcode: Opcode.binary, payload, mask: MASK });
      t.equal(out.length, 1);
      t.ok(payload.equals(Buffer.alloc(length, 0x41)), `payload of ${length} untouched`);
    }
  });
});
