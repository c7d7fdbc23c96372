// The sans-I/O layer is free of Node: every file of core/src outside node/ is checked for Node imports and
// Node globals in its text, and the whole layer is type-checked without @types/node, which also catches
// what a text scan cannot (a Node type reached through a re-export, a Buffer-only method).
import t from 'tap';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CORE = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = join(CORE, 'src');
/** The Node entry: it re-exports the adapters from node/ (and so may import them), but no builtin itself. */
const NODE_ENTRY = 'index.ts';

/** Node builtins by bare name too (`crypto`, `zlib`, `fs/promises`): `node:` is optional for most of them. */
const BUILTINS: ReadonlySet<string> = new Set(builtinModules.flatMap((name) => [name, name.replace(/^node:/, '')]));

/** Globals only Node has; the web-standard ones (TextEncoder, crypto.getRandomValues) are fine. */
const NODE_GLOBALS = /\b(?:Buffer|require\s*\(|process\s*\.|__dirname|__filename|NodeJS\s*\.|setImmediate|global\s*\.)/;

/** Every module specifier of a file: static and dynamic imports, re-exports, side-effect imports. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The code without its comments, so that a comment may name Buffer or node:zlib while explaining why not. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** What is wrong with one file of the sans-I/O layer; empty when nothing is. */
function nodeDependencies(path: string, source: string): string[] {
  const file = relative(SRC, path).split(sep).join('/');
  const code = withoutComments(source);
  const problems: string[] = [];
  for (const [, specifier] of code.matchAll(SPECIFIER)) {
    if (specifier === undefined) continue;
    if (specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]!)) {
      problems.push(`${file} imports the Node builtin '${specifier}'`);
    } else if (specifier.startsWith('.') && file !== NODE_ENTRY && /(^|\/)node\//.test(join(dirname(file), specifier).split(sep).join('/'))) {
      problems.push(`${file} imports '${specifier}' from the Node adapters`);
    }
  }
  const global = NODE_GLOBALS.exec(code);
  if (global !== null) problems.push(`${file} uses the Node global '${global[0]}'`);
  return problems;
}

t.test('no file of core/src outside node/ imports a Node builtin or uses a Node global', async (t) => {
  const files = sourceFiles(SRC).filter((path) => !relative(SRC, path).startsWith(`node${sep}`));
  t.ok(files.length >= 10, `${files.length} files of the sans-I/O layer checked`);
  const problems = files.flatMap((path) => nodeDependencies(path, readFileSync(path, 'utf8')));
  t.same(problems, [], 'Node is reached only through the Platform that node/ injects');
});

t.test('the scan itself: it catches each way of reaching Node, and lets comments and URLs be', async (t) => {
  const at = (name: string): string => join(SRC, name);
  t.same(nodeDependencies(at('a.ts'), "import { randomFillSync } from 'node:crypto';"), ["a.ts imports the Node builtin 'node:crypto'"]);
  t.same(nodeDependencies(at('a.ts'), "import * as zlib from 'zlib';"), ["a.ts imports the Node builtin 'zlib'"], 'a bare builtin name');
  t.same(nodeDependencies(at('a.ts'), "export { x } from 'fs/promises';"), ["a.ts imports the Node builtin 'fs/promises'"], 'a re-export of a subpath');
  t.same(nodeDependencies(at('a.ts'), "const z = await import('node:zlib');"), ["a.ts imports the Node builtin 'node:zlib'"], 'a dynamic import');
  t.same(nodeDependencies(at('extensions/a.ts'), "import { nodePlatform } from '../node/node-platform.js';"), [
    "extensions/a.ts imports '../node/node-platform.js' from the Node adapters",
  ]);
  t.same(nodeDependencies(at('a.ts'), 'const out = Buffer.allocUnsafe(4);'), ["a.ts uses the Node global 'Buffer'"]);
  t.same(nodeDependencies(at('a.ts'), "const zlib = require('zlib');"), ["a.ts uses the Node global 'require('"]);
  t.same(nodeDependencies(at('a.ts'), '// Buffer.concat would copy\n/* node:zlib */ const url = "ws://x"; // why'), [], 'comments and URLs');
  t.same(nodeDependencies(at(NODE_ENTRY), "export { connect } from './node/client.js';"), [], 'the Node entry re-exports the adapters');
});

t.test('the sans-I/O layer type-checks without @types/node', async (t) => {
  // The compiler's native executable, run directly: a node child would inherit the test runner's hooks.
  const typescript = dirname(createRequire(import.meta.url).resolve('typescript/package.json'));
  const { default: getExePath } = (await import(pathToFileURL(join(typescript, 'lib', 'getExePath.js')).href)) as { default: () => string };
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(getExePath(), ['--noEmit', '-p', join(CORE, 'tsconfig.sans-io.json')], { cwd: CORE }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: `${stdout}${stderr}` }),
    );
  });
  t.equal(result.output.trim(), '', 'no type errors: nothing in it names a Node type');
  t.equal(result.code, 0);
});
