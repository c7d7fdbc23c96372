import { readFile } from 'node:fs/promises';

/**
 * Where the console's page is built (`pnpm --filter @switchboard/broker bundle:console`, part of the
 * package's `build` and of `pnpm start`): one HTML file with its CSS and script inlined. `src/console/`
 * and `dist/console/` are both two folders below the package root, so the sources (tsx) and the build
 * find the same file.
 */
export const consolePageUrl = new URL('../../dist/console/console.html', import.meta.url);

/** The page, or undefined when it has not been built; read once, then served from memory. */
export class ConsolePage {
  private page: Promise<Buffer | undefined> | undefined;
  private readonly url: URL;

  constructor(url: URL = consolePageUrl) {
    this.url = url;
  }

  load(): Promise<Buffer | undefined> {
    this.page ??= readFile(this.url).catch(() => {
      // Not built yet: ask again next time, so building it does not need a restart.
      this.page = undefined;
      return undefined;
    });
    return this.page;
  }
}
