import { ConfigError } from '../config/config-error.js';
import { type CommandIo, UsageError, report } from './command-io.js';
import { pubCommand, pubUsage } from './pub-command.js';
import { subCommand, subUsage } from './sub-command.js';
import { tokenCommand, tokenUsage } from './token-command.js';

/**
 * The terminal client: `switchboard sub`, `switchboard pub` (on the SDK, like any application) and
 * `switchboard token` (development tokens from the broker's own configuration). Exit codes: 0 done, 1 a
 * refusal or a lost connection, 2 a usage or configuration mistake.
 */

export type ClientCommandName = 'sub' | 'pub' | 'token';

const commands: Record<ClientCommandName, { run: (argv: readonly string[], io: CommandIo) => Promise<number>; usage: string }> = {
  sub: { run: subCommand, usage: subUsage },
  pub: { run: pubCommand, usage: pubUsage },
  token: { run: tokenCommand, usage: tokenUsage },
};

export async function runClientCommand(name: ClientCommandName, argv: readonly string[], io: CommandIo): Promise<number> {
  const { run, usage } = commands[name];
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError || isArgumentError(error)) {
      report(io, `${name}: ${(error as Error).message}`);
      io.stderr.write(`\n${usage}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      report(io, error.message);
      return 2;
    }
    report(io, `${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

// node:util parseArgs reports an unknown flag or a missing value with these codes.
function isArgumentError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
