// Browser bundle size (issue 18): our SDK beside the clients of Socket.IO, Pusher, Centrifugo and NATS, each
// bundled the same way (esbuild, minified, ESM, browser platform, one import of its entry point) and gzipped.
// Sizes are deterministic, so one run is the figure; the ratios are ours over each peer's.
import { gzipSync } from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { browserBuildOptions } from '@switchboard/client/browser-build-options';
import { build } from 'esbuild';
import type { BenchResult } from './harness.js';

interface Contender {
  readonly name: string;
  /** The one import, as an application would write it; bound to a global so nothing is dropped as unused. */
  readonly entry: string;
}

const clientSource = fileURLToPath(new URL('../packages/client/src/index.ts', import.meta.url));

/** Ours first: the ratios are against it. Versions are pinned in bench/package.json. */
const contenders: readonly Contender[] = [
  { name: '@switchboard/client', entry: `import { createClient } from ${JSON.stringify(clientSource)}; globalThis.sdk = createClient;` },
  { name: 'socket.io-client 4.8', entry: `import { io } from 'socket.io-client'; globalThis.sdk = io;` },
  { name: 'pusher-js 8.6', entry: `import Pusher from 'pusher-js'; globalThis.sdk = Pusher;` },
  { name: 'centrifuge 5.8', entry: `import { Centrifuge } from 'centrifuge'; globalThis.sdk = Centrifuge;` },
  { name: 'nats.ws 1.30', entry: `import { connect } from 'nats.ws'; globalThis.sdk = connect;` },
];

interface Size {
  readonly minified: number;
  readonly gzipped: number;
}

async function bundleSize(entry: string): Promise<Size> {
  const result = await build({
    stdin: { contents: entry, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'js' },
    // The client's own bundle options (its package's scripts), so ours is weighed as its bundle script builds it.
    ...browserBuildOptions,
    // nats.ws's tweetnacl falls back to require('crypto') only where no Web Crypto exists; never in a browser.
    external: ['crypto'],
  });
  const code = result.outputFiles[0]?.contents;
  if (code === undefined) throw new Error('esbuild produced no output');
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export async function benchBundle(): Promise<BenchResult> {
  const sizes: [Contender, Size][] = [];
  for (const contender of contenders) sizes.push([contender, await bundleSize(contender.entry)]);
  const ours = sizes[0]?.[1];
  if (ours === undefined) throw new Error('no contenders');
  const lines = [
    '| client | minified | min+gzip | ours / theirs (gzip) |',
    '| --- | ---: | ---: | ---: |',
    ...sizes.map(([{ name }, size]) => `| ${name} | ${kib(size.minified)} | ${kib(size.gzipped)} | ${(ours.gzipped / size.gzipped).toFixed(2)}x |`),
  ];
  return { name: 'browser bundle: esbuild, minified, ESM, one import, gzip -9', lines };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchBundle();
  process.stdout.write(`## ${result.name}\n${result.lines.join('\n')}\n`);
}
