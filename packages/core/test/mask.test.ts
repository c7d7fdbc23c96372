import fc from 'fast-check';
import t from 'tap';
import { applyMask } from '../src/mask.js';
import { naiveMask } from './helpers/frames.js';
import { hex, toHex } from './helpers/hex.js';

t.test('RFC 6455 §5.3: masking', async (t) => {
  t.test('§5.7 example: "Hello" masked with 37 fa 21 3d', async (t) => {
    const data = Buffer.from('Hello');
    applyMask(data, hex('37 fa 21 3d'));
    t.equal(toHex(data), '7f 9f 4d 51 58');
  });

  t.test('masking twice restores the data (the transform is its own inverse)', async (t) => {
    const data = hex('7f 9f 4d 51 58');
    applyMask(data, hex('37 fa 21 3d'));
    t.equal(data.toString(), 'Hello');
  });

  t.test('an empty buffer is left alone', async (t) => {
    const data = Buffer.alloc(0);
    applyMask(data, hex('37 fa 21 3d'));
    t.equal(data.length, 0);
  });

  t.test('the key may be a view at any offset', async (t) => {
    const pool = hex('ff ff ff 37 fa 21 3d ff');
    const data = Buffer.from('Hello');
    applyMask(data, pool.subarray(3, 7));
    t.equal(toHex(data), '7f 9f 4d 51 58');
  });

  t.test('only the view is touched, not the bytes around it', async (t) => {
    const backing = new Uint8Array(80).fill(0xaa);
    applyMask(backing.subarray(3, 77), hex('01 02 03 04'));
    t.same([backing[0], backing[1], backing[2], backing[77], backing[78], backing[79]], [0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
  });
});

t.test('RFC 6455 §5.3: property: equals a naive byte loop for any length, key and alignment', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 200 }),
      fc.integer({ min: 0, max: 7 }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (length, byteOffset, mask, seed) => {
        // A backing buffer with guard bytes either side of an unaligned view.
        const backing = new Uint8Array(byteOffset + length + 8);
        for (let i = 0; i < backing.length; i++) backing[i] = (seed >>> (i % 24)) ^ (i * 31);
        const before = Uint8Array.from(backing);
        const view = backing.subarray(byteOffset, byteOffset + length);
        const expected = naiveMask(view, mask);

        applyMask(view, mask);

        return (
          toHex(view) === toHex(expected) &&
          toHex(backing.subarray(0, byteOffset)) === toHex(before.subarray(0, byteOffset)) &&
          toHex(backing.subarray(byteOffset + length)) === toHex(before.subarray(byteOffset + length))
        );
      },
    ),
    { numRuns: 2000 },
  );
  t.pass('2000 random cases');
});

t.test('RFC 6455 §5.3: every length 0..200 at every alignment 0..7', async (t) => {
  const mask = hex('37 fa 21 3d');
  let failures = 0;
  for (let length = 0; length <= 200; length++) {
    for (let offset = 0; offset < 8; offset++) {
      const backing = new Uint8Array(offset + length);
      for (let i = 0; i < backing.length; i++) backing[i] = (i * 7 + length) & 0xff;
      const view = backing.subarray(offset);
      const expected = naiveMask(view, mask);
      applyMask(view, mask);
      if (toHex(view) !== toHex(expected)) failures++;
    }
  }
  t.equal(failures, 0);
});
