/**
 * Builds the browser bundle of `@switchboard/client` and reports its size:
 *
 *   node --conditions=@switchboard/source --import=tsx packages/client/scripts/bundle.ts [--out <file>]
 *
 * One minified ESM file, resolved with the `browser` export condition (so `#transport` is the native
 * WebSocket transport and `@switchboard/core` is never reached). It fails loudly if any Node built-in or
 * the Node transport ends up in the bundle. Prints minified and gzipped sizes, what each package and each
 * feature area costs, and what a minimal publish/subscribe application costs.
 */
import { gzipSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { browserBuildOptions } from './browser-build-options.js';

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
  /** Minified bytes per feature area (see AREAS); `other` holds files no area names. */
  readonly areas: Readonly<Record<string, number>>;
}

/** The SDK's entry point. */
const SDK_ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/**
 * The smallest application: one import of `createClient`, one subscribe, one publish. What it costs is what
 * tree-shaking leaves of the SDK for publish/subscribe alone.
 */
export const MINIMAL_PUBSUB_ENTRY = `import { createClient } from ${JSON.stringify(SDK_ENTRY)};
export function start(url) {
  const client = createClient({ url });
  client.subscribe('chat.room', (message) => console.log(message.data));
  return client.publish('chat.room', { text: 'hi' });
}`;

/**
 * Feature areas, by source file, so the bundle script can say what each costs. Protocol files serve every
 * area and count as `wire protocol` unless only one feature uses them.
 */
const AREAS: readonly (readonly [area: string, files: RegExp])[] = [
  ['presence', /^src\/presence-[\w-]+\.ts$/],
  ['rpc', /^src\/rpc-requests\.ts$/],
  ['users + listen', /(^src\/server-subscriptions|protocol\/src\/user-topics)\.ts$/],
  ['chunking', /(^src\/chunks|protocol\/src\/chunks|protocol\/src\/chunk-assembler)\.ts$/],
  ['publish + send queue', /^src\/(publish-pipeline|publish-order|send-queue)\.ts$/],
  ['subscribe + recovery', /^src\/(subscriptions|subscription|subscription-effects|message-delivery|positions|payload-schemas)\.ts$/],
  [
    'connection + reconnect',
    /^src\/(client|client-context|client-options|connection|connection-lifecycle|reconnect|pings|token-refresh|close-advice|clock|emitter|errors|inbound-dispatch|transport\/browser)\.ts$/,
  ],
  ['wire protocol', /protocol\/src\//],
];

/** Builds a bundle in memory, of the SDK's entry (a file) or of an application's code (`{ contents }`). Throws when a Node built-in or the Node transport is part of it. */
export async function bundle(entry: string | { readonly contents: string } = SDK_ENTRY): Promise<BundleResult> {
  const result = await build({
    ...(typeof entry === 'string' ? { entryPoints: [entry] } : { stdin: { contents: entry.contents, resolveDir: packageRoot, loader: 'js' as const } }),
    ...browserBuildOptions,
    metafile: true,
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
    areas: areaSizes(result.metafile),
  };
}

function outputBytes(metafile: Metafile): [path: string, bytes: number][] {
  return Object.values(metafile.outputs).flatMap((output) => Object.entries(output.inputs).map(([path, { bytesInOutput }]): [string, number] => [relative(packageRoot, resolve(path)), bytesInOutput]));
}

function partSizes(metafile: Metafile): Record<string, number> {
  const parts: Record<string, number> = { zod: 0, protocol: 0, 'client SDK': 0 };
  for (const [path, bytes] of outputBytes(metafile)) {
    const part = path.includes('node_modules/zod') ? 'zod' : path.includes('protocol/src/') ? 'protocol' : 'client SDK';
    parts[part] = (parts[part] ?? 0) + bytes;
  }
  return parts;
}

function areaSizes(metafile: Metafile): Record<string, number> {
  const areas: Record<string, number> = Object.fromEntries(AREAS.map(([area]) => [area, 0]));
  for (const [path, bytes] of outputBytes(metafile)) {
    const area = AREAS.find(([, files]) => files.test(path))?.[0] ?? 'other';
    areas[area] = (areas[area] ?? 0) + bytes;
  }
  return areas;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(argv: readonly string[]): Promise<void> {
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : fileURLToPath(new URL('../dist/browser/switchboard.js', import.meta.url));
  if (out === undefined) throw new Error('--out needs a file name');
  const result = await bundle(SDK_ENTRY);
  const minimal = await bundle({ contents: MINIMAL_PUBSUB_ENTRY });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, result.code);
  // gzip does not add up by part (it compresses across them); a part's share of the minified bytes is the estimate.
  const share = (bytes: number): string => `${kib(bytes).padStart(9)}  ${`~${kib((bytes / result.minifiedBytes) * result.gzippedBytes)}`.padStart(9)}`;
  const lines = [
    `browser bundle: ${relative(process.cwd(), out)} (ESM, ${result.inputs.length} modules, no Node built-ins)`,
    `                            minified   min+gzip`,
    `  @switchboard/client       ${kib(result.minifiedBytes).padStart(9)}  ${kib(result.gzippedBytes).padStart(9)}  (aim: at most 10 KiB)`,
    `  publish/subscribe only    ${kib(minimal.minifiedBytes).padStart(9)}  ${kib(minimal.gzippedBytes).padStart(9)}  (createClient + subscribe + publish)`,
    '  by package (min+gzip: share of the minified bytes):',
    ...Object.entries(result.parts).map(([part, bytes]) => `    ${part.padEnd(22)} ${share(bytes)}`),
    '  by feature area:',
    ...Object.entries(result.areas)
      .filter(([area, bytes]) => area !== 'other' || bytes > 0)
      .map(([area, bytes]) => `    ${area.padEnd(22)} ${share(bytes)}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`bundle: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
