import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `switchboard` command as a real process (bin/switchboard.js, which runs src/cli.ts through tsx). */

export interface SwitchboardProcess {
  readonly process: ChildProcess;
  /** Everything it wrote so far, stdout and stderr interleaved as they arrived. */
  output(): string;
  /** What it wrote to stdout alone, and to stderr alone. */
  stdout(): string;
  stderr(): string;
  /** Its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** The same, once its output pipes are drained too: all of its output is in. */
  readonly closed: Promise<number | null>;
}

const brokerRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Starts `switchboard ...args` with `env` over this process's environment (and LOG_LEVEL info unless given);
 * `input`, if given, is written to its stdin, which is then closed.
 */
export function runSwitchboard(args: readonly string[], env: Record<string, string> = {}, input?: string): SwitchboardProcess {
  const child = spawn(process.execPath, ['bin/switchboard.js', ...args], {
    cwd: brokerRoot,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  if (input !== undefined) {
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  }
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { process: child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited, closed };
}
