import { cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Reading a Dockerfile and its build context without Docker, so a test can run the build steps the image runs
 * and start what they produce with the image's command.
 */

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, ENV, USER, HEALTHCHECK, ENTRYPOINT ... */
  readonly keyword: string;
  /** The rest of the instruction, continuation lines joined. */
  readonly args: string;
  /** The build stage it belongs to: 0 for the first FROM, and so on. */
  readonly stage: number;
}

/** The instructions, comments dropped and `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const whole = pending + line;
    pending = '';
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(whole) ?? [];
    if (keyword.toUpperCase() === 'FROM') stage++;
    instructions.push({ keyword: keyword.toUpperCase(), args, stage });
  }
  return instructions;
}

/** `ENV A=1 B=2` of a stage, as a record (the `KEY=VALUE` form only). */
export function envOf(instructions: readonly Instruction[], stage: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of instructions) {
    if (instruction.keyword !== 'ENV' || instruction.stage !== stage) continue;
    for (const [, key, value] of instruction.args.matchAll(/(\w+)=(\S*)/g)) env[key!] = value!;
  }
  return env;
}

/**
 * Copies the build context `root` to `target` as `docker build` sends it: everything but what .dockerignore
 * excludes. Patterns are matched against paths relative to the root (`*` within a segment, `**` any number of
 * segments); an excluded folder is skipped whole. Negations (`!`) are not supported and refused.
 */
export function copyBuildContext(root: string, target: string): string[] {
  const patterns = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (patterns.some((pattern) => pattern.startsWith('!'))) throw new Error('.dockerignore: negations are not supported by this copy');
  const excluded = patterns.map(globToRegExp);
  const copied: string[] = [];
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(root, relative))) {
      const path = relative === '' ? name : `${relative}/${name}`;
      if (excluded.some((pattern) => pattern.test(path))) continue;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else {
        cpSync(join(root, path), join(target, path), { preserveTimestamps: true });
        copied.push(path);
      }
    }
  };
  walk('');
  return copied;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .map((segment) => (segment === '**' ? '(?:.*/)?' : `${segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}/`))
    .join('');
  return new RegExp(`^${body.replace(/\/$/, '')}$`);
}
