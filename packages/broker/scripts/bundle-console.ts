/**
 * Builds the web console into one HTML file the broker serves at /console (src/console/console-page.ts):
 *
 *   node --import=tsx packages/broker/scripts/bundle-console.ts [--out <file>]
 *
 * esbuild bundles `console/main.ts` (minified, for browsers) and minifies `console/console.css`; both are
 * inlined into `console/console.html`, whose Content-Security-Policy allows exactly that script and that
 * style by their SHA-256 and nothing from elsewhere: no CDN, works offline. `pnpm build` and `pnpm start`
 * run it; tests call `bundleConsole()`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';

const consoleDir = new URL('../console/', import.meta.url);
/** Where the broker looks for the page (the same path as `consolePageUrl`). */
export const consolePagePath = fileURLToPath(new URL('../dist/console/console.html', import.meta.url));

export interface ConsoleBundle {
  readonly html: string;
  readonly scriptBytes: number;
  readonly styleBytes: number;
}

export async function bundleConsole(): Promise<ConsoleBundle> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('main.ts', consoleDir))],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const script = result.outputFiles[0]?.text;
  if (script === undefined) throw new Error('esbuild produced no output');
  // The script sits inside <script>: a `</script` in it (a string in the code) would end the element early.
  if (/<\/script/i.test(script)) throw new Error('the console script contains </script');
  const style = (await transform(readFileSync(new URL('console.css', consoleDir), 'utf8'), { loader: 'css', minify: true })).code;
  const csp = [
    "default-src 'none'",
    `script-src '${sha256(script)}'`,
    `style-src '${sha256(style)}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const template = readFileSync(new URL('console.html', consoleDir), 'utf8');
  // Functions as replacements: `$` in the code must not be read as a replacement pattern.
  const html = template
    .replace('{{CSP}}', () => csp)
    .replace('{{STYLE}}', () => style)
    .replace('{{SCRIPT}}', () => script);
  return { html, scriptBytes: script.length, styleBytes: style.length };
}

/** Writes the page where the broker reads it; atomically, so a broker never serves half a file. */
export async function writeConsole(out = consolePagePath): Promise<ConsoleBundle> {
  const bundle = await bundleConsole();
  mkdirSync(dirname(out), { recursive: true });
  const temporary = `${out}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temporary, bundle.html);
  renameSync(temporary, out);
  return bundle;
}

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text).digest('base64')}`;
}

async function main(argv: readonly string[]): Promise<void> {
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : consolePagePath;
  if (out === undefined) throw new Error('--out needs a file name');
  const bundle = await writeConsole(out);
  if (!argv.includes('--quiet')) {
    process.stdout.write(`console: ${relative(process.cwd(), out)} (${(bundle.html.length / 1024).toFixed(1)} KiB: script ${(bundle.scriptBytes / 1024).toFixed(1)} KiB, style ${(bundle.styleBytes / 1024).toFixed(1)} KiB)\n`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`bundle-console: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
