// The bytes mask-simd.ts embeds are src/mask-simd.wat assembled: the module is reviewed as text, and this
// test keeps the text and the bytes from drifting apart. The assembler (helpers/wat-assembler.ts) is checked
// here too, on forms whose encoding the WebAssembly specification fixes.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { maskModuleBytes } from '../src/mask-simd.js';
import { assembleWat } from './helpers/wat-assembler.js';

const WAT = readFileSync(new URL('../src/mask-simd.wat', import.meta.url), 'utf8');

/** The bytes as source lines, ready to paste into mask-simd.ts when the .wat changed on purpose. */
function asSource(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    lines.push([...bytes.subarray(i, i + 16)].map((byte) => `0x${byte.toString(16).padStart(2, '0')}`).join(', ') + ',');
  }
  return lines.join('\n');
}

t.test('mask-simd.ts embeds exactly mask-simd.wat assembled', async (t) => {
  const assembled = assembleWat(WAT);
  const embedded = maskModuleBytes();
  t.equal(asSource(embedded), asSource(assembled), 'byte for byte (on a mismatch, the expected lines are the ones to embed)');
});

t.test('the embedded module is valid WebAssembly with SIMD, exporting its memory and mask', async (t) => {
  t.ok(WebAssembly.validate(maskModuleBytes()));
  const module = new WebAssembly.Module(maskModuleBytes());
  t.same(WebAssembly.Module.exports(module), [
    { name: 'memory', kind: 'memory' },
    { name: 'mask', kind: 'function' },
  ]);
  t.same(WebAssembly.Module.imports(module), [], 'it needs nothing from its host');
});

t.test('the assembler: encodings the specification fixes', async (t) => {
  // (module) is the header alone: magic and version 1.
  t.same([...assembleWat('(module)')], [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const small = assembleWat('(module (memory (export "m") 2 3) (func (export "f") (param $a i32) (result i32) local.get $a i32.const -64 i32.and))');
  t.ok(WebAssembly.validate(small), 'valid');
  t.same(
    [...small.subarray(8)],
    [
      ...[0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f], // type: (i32) -> (i32)
      ...[0x03, 0x02, 0x01, 0x00], // function
      ...[0x05, 0x04, 0x01, 0x01, 0x02, 0x03], // memory: min 2, max 3
      ...[0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x66, 0x00, 0x00], // export "m" memory 0, "f" func 0
      ...[0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x41, 0x40, 0x71, 0x0b], // code: no locals; local.get 0, i32.const -64 (sleb 0x40), i32.and, end
    ],
  );
  t.throws(() => assembleWat('(module (func i32.popcnt))'), /unsupported instruction i32.popcnt/, 'what it does not know, it refuses');
  t.throws(() => assembleWat('(module (func block $a br $b end))'), /unknown label \$b/);
});
