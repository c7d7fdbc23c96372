// Reads a tree's import statements and names, for each one, the folder it comes from and the folder or
// package it reaches, so architecture rules can be checked without compiling anything.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';

export interface ImportEdge {
  /** The importing file, relative to the root, with `/` separators. */
  readonly file: string;
  /** The specifier as written. */
  readonly specifier: string;
  /** `import type` / `export type`: erased at compile time, a dependency on declarations only. */
  readonly typeOnly: boolean;
  /** A workspace file (relative to the root) for a relative specifier, or the package name otherwise. */
  readonly target: { readonly kind: 'file'; readonly path: string } | { readonly kind: 'package'; readonly name: string };
}

// Static imports, re-exports, `import type`, and dynamic `import('...')` with a literal: every way a module
// can depend on another. Comments are stripped first so prose that mentions `from '...'` does not count.
const importPattern = /\b(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

export interface ImportStatement {
  readonly specifier: string;
  readonly typeOnly: boolean;
}

export function importsOf(source: string): ImportStatement[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...code.matchAll(importPattern)].map((match) => ({ specifier: (match[2] ?? match[3])!, typeOnly: match[1] !== undefined }));
}

export function specifiersOf(source: string): string[] {
  return importsOf(source).map((statement) => statement.specifier);
}

/** `node:zlib` -> `node:`, `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
export function packageNameOf(specifier: string): string {
  if (specifier.startsWith('node:')) return 'node:';
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

// Node builtins reached without the `node:` prefix still are Node.
const bareBuiltins = new Set(['buffer', 'crypto', 'events', 'fs', 'http', 'https', 'net', 'os', 'path', 'stream', 'tls', 'url', 'util', 'zlib', 'child_process', 'worker_threads']);

export function edgesOf(file: string, source: string): ImportEdge[] {
  return importsOf(source).map(({ specifier, typeOnly }) => {
    if (specifier.startsWith('.')) {
      const path = posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, '.ts');
      return { file, specifier, typeOnly, target: { kind: 'file', path } };
    }
    const name = bareBuiltins.has(specifier) ? 'node:' : packageNameOf(specifier);
    return { file, specifier, typeOnly, target: { kind: 'package', name } };
  });
}

/** Every `.ts` file under `folder` (relative to `root`), skipping node_modules and dist. */
export function sourceFiles(root: string, folder: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(root, dir))) {
      if (name === 'node_modules' || name === 'dist') continue;
      const path = join(dir, name);
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(path.split(sep).join('/'));
    }
  };
  walk(folder);
  return files.sort();
}

export function importGraph(root: string, folders: readonly string[]): ImportEdge[] {
  return folders.flatMap((folder) =>
    sourceFiles(root, folder).flatMap((file) => edgesOf(file, readFileSync(join(root, file), 'utf8'))),
  );
}

export function relativeTo(root: string, path: string): string {
  return relative(root, path).split(sep).join('/') || dirname(path);
}
