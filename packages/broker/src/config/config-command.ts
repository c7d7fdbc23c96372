import { ConfigError } from './config-error.js';
import { effectiveConfigText } from './config-effective.js';
import { configExample } from './config-example.js';
import { configFileFlag, resolveConfig } from './load-config.js';

/**
 * `switchboard config ...`: `check FILE [flags]` validates a configuration file with this environment and
 * these flags and prints the effective configuration (secrets masked), `example` prints a commented file
 * with every option and its default. What to print and the exit code; the CLI writes them.
 */

export interface CommandResult {
  /** 0: done; 2: the configuration (or the command line) is invalid. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const configUsage = `Usage: switchboard config check FILE [options]   validate FILE, print the effective configuration
       switchboard config example                 print a commented example file with every default`;

export function configCommand(args: readonly string[], env: Readonly<Record<string, string | undefined>>): CommandResult {
  const [command, ...rest] = args;
  if (command === 'example' && rest.length === 0) return { code: 0, stdout: configExample(), stderr: '' };
  const [file, ...flags] = rest;
  if (command !== 'check' || file === undefined || file.startsWith('--')) return { code: 2, stdout: '', stderr: `${configUsage}\n` };
  try {
    return { code: 0, stdout: effectiveConfigText(resolveConfig({ env, argv: [`--${configFileFlag}`, file, ...flags] })), stderr: '' };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { code: 2, stdout: '', stderr: `switchboard: ${error.message}\n` };
  }
}
