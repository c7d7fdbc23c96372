/**
 * Compiles the C and C++ interop peers in peers/ against Debian's headers, once: the binary is cached under
 * the system temp directory by a hash of its source, the command and the compiler's version, so later runs
 * (and the other test file running in parallel) reuse it. A peer that cannot be built fails its test with
 * the compiler's output; nothing is skipped.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/processes.js';

const CACHE = join(tmpdir(), 'switchboard-interop-peers');

export interface PeerBuild {
  /** The binary's name. */
  name: string;
  /** The source file in peers/. */
  source: string;
  compiler: 'gcc' | 'g++';
  /** Flags before the source. */
  flags: string[];
  /** pkg-config packages whose cflags and libs are added. */
  pkgConfig?: string[];
  /** Libraries after the source. */
  libs?: string[];
}

export async function buildPeer(build: PeerBuild): Promise<string> {
  const source = fileURLToPath(new URL(`./peers/${build.source}`, import.meta.url));
  let pkgFlags: string[] = [];
  if (build.pkgConfig !== undefined) {
    const result = await run('pkg-config', ['--cflags', '--libs', ...build.pkgConfig], { timeoutMs: 10_000 }).catch((error: Error) => {
      throw new Error(`pkg-config is missing (scripts/ensure-system-packages.sh installs it): ${error.message}`);
    });
    if (result.code !== 0) throw new Error(`pkg-config ${build.pkgConfig.join(' ')} failed: ${result.stderr}`);
    pkgFlags = result.stdout.trim().split(/\s+/).filter((flag) => flag !== '');
  }
  const version = await run(build.compiler, ['--version'], { timeoutMs: 10_000 }).catch((error: Error) => {
    throw new Error(`${build.compiler} is missing (scripts/ensure-system-packages.sh installs it): ${error.message}`);
  });
  const args = [...build.flags, source, ...pkgFlags, ...(build.libs ?? [])];
  const hash = createHash('sha256')
    .update(readFileSync(source))
    .update(JSON.stringify(args))
    .update(version.stdout)
    .digest('hex')
    .slice(0, 16);
  const binary = join(CACHE, `${build.name}-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(CACHE, { recursive: true });
  const partial = `${binary}.${process.pid}.partial`;
  const result = await run(build.compiler, ['-o', partial, ...args], { timeoutMs: 300_000 });
  if (result.code !== 0) throw new Error(`could not build ${build.name}: ${build.compiler} ${args.join(' ')}\n${result.stderr}`);
  renameSync(partial, binary);
  return binary;
}
