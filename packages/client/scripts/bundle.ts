/**
 * Builds the browser bundle of `@switchboard/client` and reports its size:
 *
 *   node --conditions=@switchboard/source --import=tsx packages/client/scripts/bundle.ts [--out <file>]
 *
 * One minified ESM file, resolved with the `browser` export condition (so `#transport` is the native
 * WebSocket transport and `@switchboard/core` is never reached). It fails loudly if any Node built-in or
 * the Node transport ends up in the bundle. Prints minified and gzipped sizes, and what each part costs.
 */
import { gzipSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

const packageRoot = fileURLToPath(new URL('../', import.meta.url));

export interface BundleResult {
  /** The minified ESM code. */
  readonly code: Uint8Array;
  readonly minifiedBytes: number;
  readonly gzippedBytes: number;
  /** Input files in the bundle, relative to the package root. */
  readonly inputs: readonly string[];
  /** Minified bytes per part: zod (none since server messages are checked by hand), `@switchboard/protocol`, the SDK itself. */
  readonly parts: Readonly<Record<string, number>>;
}

/** The SDK's entry point. */
const SDK_ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/** Builds a bundle in memory. Throws when a Node built-in or the Node transport is part of it. */
export async function bundle(entry: string = SDK_ENTRY): Promise<BundleResult> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Source condition: bundle from src/ (no build step needed); browser: pick the native WebSocket transport.
    conditions: ['@switchboard/source', 'browser'],
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error('esbuild produced no output');
  const inputs = Object.keys(result.metafile.inputs).map((path) => relative(packageRoot, path));
  const forbidden = inputs.filter((path) => path.startsWith('node:') || path.includes('packages/core') || path.includes('/core/src') || path.endsWith('transport/node.ts'));
  if (forbidden.length > 0) throw new Error(`the browser bundle must not contain Node code, but has: ${forbidden.join(', ')}`);
  return {
    code: output.contents,
    minifiedBytes: output.contents.length,
    gzippedBytes: gzipSync(output.contents, { level: 9 }).length,
    inputs,
    parts: partSizes(result.metafile),
  };
}

function partSizes(metafile: Metafile): Record<string, number> {
  const parts: Record<string, number> = { zod: 0, protocol: 0, 'client SDK': 0 };
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const part = path.includes('node_modules/zod') ? 'zod' : path.includes('protocol/src/') ? 'protocol' : 'client SDK';
      parts[part] = (parts[part] ?? 0) + bytesInOutput;
    }
  }
  return parts;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(argv: readonly string[]): Promise<void> {
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : fileURLToPath(new URL('../dist/browser/switchboard.js', import.meta.url));
  if (out === undefined) throw new Error('--out needs a file name');
  const result = await bundle(SDK_ENTRY);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, result.code);
  const lines = [
    `browser bundle: ${relative(process.cwd(), out)} (ESM, ${result.inputs.length} modules, no Node built-ins)`,
    `                       minified   min+gzip`,
    `  @switchboard/client  ${kib(result.minifiedBytes).padStart(9)}  ${kib(result.gzippedBytes).padStart(9)}  (aim: under 10 KiB)`,
    '  minified bytes by part:',
    ...Object.entries(result.parts).map(([part, bytes]) => `    ${part.padEnd(17)} ${kib(bytes)}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`bundle: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
