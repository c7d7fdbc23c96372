import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `switchboard` command as a real process (bin/switchboard.js, which runs src/cli.ts through tsx). */

export interface SwitchboardProcess {
  readonly process: ChildProcess;
  /** Everything it wrote so far, stdout and stderr interleaved as they arrived. */
  output(): string;
  /** Its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
}

const brokerRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Starts `switchboard ...args` with `env` over this process's environment (and LOG_LEVEL info unless given). */
export function runSwitchboard(args: readonly string[], env: Record<string, string> = {}): SwitchboardProcess {
  const child = spawn(process.execPath, ['bin/switchboard.js', ...args], {
    cwd: brokerRoot,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}
