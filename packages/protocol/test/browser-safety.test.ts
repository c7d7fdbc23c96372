import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';

/**
 * `@switchboard/protocol` runs in browsers and imports nothing but zod (STYLE.md): no Node
 * built-ins, no Buffer, no process. The compiler cannot catch this (the tsconfig includes Node's types),
 * so the sources are checked here.
 */
const directory = new URL('../src/', import.meta.url);
const files = readdirSync(directory).filter((name) => name.endsWith('.ts'));

t.test('protocol sources import only zod/mini and each other', async (t) => {
  t.ok(files.length > 10, 'found the sources');
  for (const file of files) {
    const source = readFileSync(new URL(file, directory), 'utf8');
    const specifiers = Array.from(source.matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'/g), (match) => match[1] ?? '');
    for (const specifier of specifiers) {
      t.ok(specifier === 'zod/mini' || /^\.\/[a-z-]+\.js$/.test(specifier), `${file} imports ${specifier}`);
    }
    // Comments may mention Buffer (to say it works too); code may not use it.
    const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    t.notMatch(code, /\bBuffer\b|\bprocess\.|\brequire\(/, `${file} uses no Node globals`);
  }
});
