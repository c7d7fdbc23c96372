import { readFileSync } from 'node:fs';

/**
 * The broker package's version, from its package.json: `src/console/` and `dist/console/` are both two
 * folders below the package root, so the same relative path serves the sources and the build.
 */
export function brokerVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
