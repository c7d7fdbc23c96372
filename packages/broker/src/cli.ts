import type { CommandIo } from './cli/command-io.js';
import { configCommand, configUsage } from './config/config-command.js';
import { ConfigError } from './config/config-error.js';
import { configHelp } from './config/config-help.js';
import { loadConfig } from './config/load-config.js';
import { startServer } from './server.js';

/**
 * The `switchboard` command: `switchboard --port 8080`, `switchboard --config switchboard.yaml`. Every option
 * is a key of the configuration file, an environment variable and a flag (`switchboard --help`); a bad
 * value stops startup naming the field (exit code 2). `switchboard config check|example` works on files;
 * `switchboard sub|pub|token` is the terminal client (cli/).
 */
const usage = `Usage: switchboard [--config FILE] [options]
${configUsage}
       switchboard sub PATTERN [--json] [--since TOPIC=OFFSET@EPOCH]   print messages as they arrive
       switchboard pub TOPIC DATA|- [--priority high]                  publish DATA, or each line of stdin
       switchboard token --sub USER --grant PATTERN                    mint a development token
       (each with --help)

Runs a Switchboard broker node: pubsub.v1 over WebSocket on ws://HOST:PORT/, plus
GET /healthz, GET /readyz, GET /metrics and POST /publish. SIGTERM shuts down gracefully.
With TLS_CERT and TLS_KEY it serves wss:// and https:// itself, and SIGHUP reloads the
certificate and key (and TLS_CA) without dropping connections.

  --config FILE   a configuration file (.yaml, .yml or .json) keyed by the options' camelCase
                  names (maxQueuedBytes); \`switchboard config example\` prints one with every default.
Environment variables override the file, and flags override both. Sizes accept KiB/MiB
suffixes, durations ms/s/m.
`;

async function main(argv: readonly string[]): Promise<void> {
  const command = argv[0];
  if (command === 'sub' || command === 'pub' || command === 'token') {
    // Loaded only for these commands: the broker itself never loads the SDK the terminal client is built on.
    const { runClientCommand } = await import('./cli/client-commands.js');
    process.exitCode = await runClientCommand(command, argv.slice(1), processIo());
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n${configHelp()}\n`);
    return;
  }
  if (argv[0] === 'config') {
    const result = configCommand(argv.slice(1), process.env);
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.code;
    return;
  }
  try {
    const config = loadConfig({ argv });
    await startServer(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchboard: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`switchboard: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

/** The process's streams; SIGINT and SIGTERM end a running `sub` or `pub -` as running out of input does. */
function processIo(): CommandIo {
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  // A closed pipe (`switchboard sub '>' | head`) ends the command, not in an EPIPE stack trace.
  process.stdout.on('error', () => stop.abort());
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, stop: stop.signal };
}

// `pnpm start -- --port 8080` passes pnpm's `--` on to us: a leading end-of-options marker is dropped, so the
// documented command line works (flags after it are still flags: the broker takes no positional arguments).
const args = process.argv.slice(2);
await main(args[0] === '--' ? args.slice(1) : args);
