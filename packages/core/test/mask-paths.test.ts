// Both maskers, the WebAssembly SIMD one and the pure-JS fallback, held to the same vectors: a naive byte
// loop (RFC 6455 §5.3) over every length 0..70 and the sizes around their internal boundaries, at every
// alignment, with keys whose bytes are zero, all ones or have their top bit set, at every phase; then the
// frame parser and encoder on a platform with each masker; then which masker `nodePlatform` picks.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { encodeFrame } from '../src/frame.js';
import { createSimdMasker, FrameParser, Opcode, jsMasker, nodePlatform, type Masker, type Platform } from '../src/index.js';
import { chooseMasker } from '../src/node/node-platform.js';
import { rawFrame } from './helpers/frames.js';

const simd = createSimdMasker();
t.ok(simd, 'this Node has WebAssembly SIMD, so both paths are tested');
const maskers: [string, Masker][] = [
  ['simd', simd!],
  ['js', jsMasker],
];

/** Keys as the frame carries them (big-endian): the edge cases, and one with four distinct bytes. */
const KEYS = [0x00000000, 0xffffffff, 0x37fa213d, 0x80000001, 0x000000ff, 0xff000000, 0x01020304, 0x7f80fe01];
/** Every length up to 70, then around the 128-byte SIMD threshold, the 512-byte word path, and 64 KiB windows. */
const LENGTHS = [
  ...Array.from({ length: 71 }, (_, i) => i),
  127, 128, 129, 143, 144, 191, 192, 511, 512, 513, 1000,
  16 * 1024, 16 * 1024 + 3, 65535, 65536, 65537, 3 * 65536 + 13, 1024 * 1024, 1024 * 1024 + 5,
];

function naive(data: Uint8Array, key: number, phase: number): Uint8Array {
  const out = Uint8Array.from(data);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! ^ ((key >>> (24 - 8 * ((phase + i) & 3))) & 0xff);
  return out;
}

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return bytes;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

for (const [name, masker] of maskers) {
  t.test(`${name} masker: in place, every length, alignment, key and phase`, async (t) => {
    const failures: string[] = [];
    for (const length of LENGTHS) {
      const large = length > 4096;
      for (const offset of large ? [0, 3] : [0, 1, 2, 3, 4, 5, 6, 7]) {
        for (const key of large ? KEYS.slice(0, 3) : KEYS) {
          for (const phase of large ? [0, 1] : [0, 1, 2, 3]) {
            // Guard bytes either side of an unaligned view: only the view may change.
            const backing = pattern(offset + length + 8, length + key);
            const before = Uint8Array.from(backing);
            const view = backing.subarray(offset, offset + length);
            const expected = naive(view, key, phase);
            masker.mask(view, key, phase);
            const guardsKept = same(backing.subarray(0, offset), before.subarray(0, offset)) && same(backing.subarray(offset + length), before.subarray(offset + length));
            if (!same(view, expected) || !guardsKept) failures.push(`length ${length} offset ${offset} key ${key.toString(16)} phase ${phase}`);
          }
        }
      }
    }
    t.same(failures, []);
  });

  t.test(`${name} masker: maskInto copies masked into any offset and leaves the source as it was`, async (t) => {
    const failures: string[] = [];
    for (const length of LENGTHS) {
      for (const at of length > 4096 ? [0, 5] : [0, 1, 2, 3, 6, 13]) {
        for (const key of KEYS.slice(0, length > 4096 ? 2 : KEYS.length)) {
          const phase = (length + at) & 3;
          const source = pattern(length + 3, key).subarray(3);
          const original = Uint8Array.from(source);
          const target = new Uint8Array(at + length + 4).fill(0xee);
          masker.maskInto(source, target, at, key, phase);
          const ok =
            same(target.subarray(at, at + length), naive(original, key, phase)) &&
            same(source, original) &&
            target.subarray(0, at).every((byte) => byte === 0xee) &&
            target.subarray(at + length).every((byte) => byte === 0xee);
          if (!ok) failures.push(`length ${length} at ${at} key ${key.toString(16)}`);
        }
      }
    }
    t.same(failures, []);
  });

  t.test(`${name} masker: a payload masked in pieces equals it masked whole`, async (t) => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 0xffffffff }), (length, cuts, key) => {
        const data = pattern(length, key);
        const whole = naive(data, key, 0);
        const joined = new Uint8Array(length);
        for (let at = 0, i = 0; at < length; i++) {
          const end = Math.min(length, at + cuts[i % cuts.length]!);
          masker.maskInto(data.subarray(at, end), joined, at, key, at);
          at = end;
        }
        return same(joined, whole);
      }),
      { numRuns: 300 },
    );
    t.pass('300 random cuts');
  });

  /** nodePlatform with this masker: what a server uses, but for the masker. */
  const platform: Platform = { ...nodePlatform, masker };

  t.test(`${name} masker: the parser unmasks frames whole and split across reads, at every size`, async (t) => {
    const failures: string[] = [];
    for (const length of [0, 1, 5, 70, 125, 126, 129, 1000, 16 * 1024, 65536 + 7, 1024 * 1024]) {
      const payload = pattern(length, 9);
      const frame = rawFrame({ opcode: Opcode.binary, payload, mask: Uint8Array.of(0x37, 0xfa, 0x21, 0x3d) });
      const cuts = length > 4096 ? [frame.length, 65536, 1000, 4093] : [frame.length, 1, 3, 7, 64];
      for (const cut of cuts) {
        // A leading byte of another read puts the frame at an odd offset of its chunk.
        const parser = new FrameParser({ role: 'server', allowRsv1: false, maxPayloadLength: 1 << 21, platform });
        const stream = Buffer.concat([rawFrame({ opcode: Opcode.ping, payload: Uint8Array.of(1), mask: Uint8Array.of(0, 0, 0, 0) }), frame]);
        const payloads: Uint8Array[] = [];
        for (let at = 0; at < stream.length; at += cut) {
          parser.push(Buffer.from(stream.subarray(at, at + cut)));
          for (let read = parser.read(); read !== undefined; read = parser.read()) payloads.push(read.payload);
        }
        if (payloads.length !== 2 || !same(payloads[1]!, payload) || parser.error !== undefined) failures.push(`length ${length} in reads of ${cut}`);
      }
    }
    t.same(failures, []);
  });

  t.test(`${name} masker: client frames the encoder masks are what the naive loop gives`, async (t) => {
    const failures: string[] = [];
    for (const length of [0, 3, 127, 128, 129, 4000, 70_000]) {
      const payload = pattern(length, 4);
      const mask = Uint8Array.of(0x80, 0x00, 0xff, 0x01);
      const frames = encodeFrame({ fin: true, opcode: Opcode.binary, payload, mask }, platform);
      const expected = rawFrame({ opcode: Opcode.binary, payload, mask });
      if (frames.length !== 1 || !same(frames[0]!, expected)) failures.push(`length ${length}`);
    }
    t.same(failures, []);
  });
}

t.test('nodePlatform: SIMD by default, the pure-JS masker when SWITCHBOARD_MASKER=js', async (t) => {
  t.equal(chooseMasker(undefined), simd);
  t.equal(chooseMasker('simd'), simd);
  t.equal(chooseMasker('js'), jsMasker);
  // The environment is read when the module loads: ask a fresh process, with and without the setting.
  const script = "import { nodePlatform, jsMasker } from '@switchboard/core'; process.stdout.write(nodePlatform.masker === jsMasker ? 'js' : 'simd');";
  const run = (env: NodeJS.ProcessEnv): string =>
    execFileSync(process.execPath, ['--conditions=@switchboard/source', '--import=tsx', '--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url),
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
  const { SWITCHBOARD_MASKER: _unset, ...env } = process.env;
  t.equal(run(env), 'simd', 'without the setting');
  t.equal(run({ ...env, SWITCHBOARD_MASKER: 'js' }), 'js', 'with SWITCHBOARD_MASKER=js');
});
