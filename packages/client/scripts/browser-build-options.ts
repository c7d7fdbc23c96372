import type { BuildOptions } from 'esbuild';

/**
 * How a browser bundle is built: one minified ESM file for browsers, in memory. The client's bundle script
 * (bundle.ts) builds the SDK this way, and bench/bundle.ts builds the clients it weighs ours against this way
 * too, so their sizes compare like for like.
 */
export const browserBuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Source condition: bundle from src/ (no build step needed); browser: pick the native WebSocket transport
  // and each other package's browser build.
  conditions: ['@switchboard/source', 'browser'],
  target: 'es2022',
  minify: true,
  write: false,
  legalComments: 'none',
  logLevel: 'silent',
} satisfies BuildOptions;
