import { ConfigError } from './config/config-error.js';
import { configHelp } from './config/config-help.js';
import { loadConfig } from './config/load-config.js';
import { startServer } from './server.js';

/**
 * The `switchboard` command: `switchboard --port 8080`. Every option is a flag and an environment
 * variable (`switchboard --help`); a bad value stops startup naming the field (exit code 2).
 */
const usage = `Usage: switchboard [options]

Runs a Switchboard broker node: pubsub.v1 over WebSocket on ws://HOST:PORT/, plus
GET /healthz, GET /readyz, GET /metrics and POST /publish. SIGTERM shuts down gracefully.
With TLS_CERT and TLS_KEY it serves wss:// and https:// itself, and SIGHUP reloads the
certificate and key (and TLS_CA) without dropping connections.
Flags override environment variables. Sizes accept KiB/MiB suffixes, durations ms/s/m.
`;

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n${configHelp()}\n`);
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

await main(process.argv.slice(2));
