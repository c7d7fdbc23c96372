import { type Config, type ConfigInput, type OptionKey, createConfig, describeOption, options } from './config.js';
import { ConfigError } from './config-error.js';
import { gotValue } from './option-secret.js';
import { isBooleanWord, readText } from './option-text.js';

/**
 * The configuration from the process: environment variables, then command-line flags (a flag wins), then
 * typed overrides. Both text sources map a name to an option key and read the text by the option's kind;
 * the result goes through `createConfig` like any typed input.
 */

export interface LoadConfigOptions {
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Command-line arguments after the command (`--port 8080`, `--port=8080`, `--no-permessage-deflate`). */
  readonly argv?: readonly string[];
  /** Typed values applied over env and flags (for embedding and tests). */
  readonly overrides?: ConfigInput;
}

const optionKeys = Object.keys(options) as OptionKey[];
const keyByFlag = new Map<string, OptionKey>(optionKeys.map((key) => [options[key].flag, key]));

/**
 * Reads env, then flags, then `overrides`, and validates the result.
 * @throws ConfigError naming the first bad field (unknown flags included).
 */
export function loadConfig(source: LoadConfigOptions = {}): Config {
  const input: Record<string, unknown> = {};
  const env = source.env ?? process.env;
  for (const key of optionKeys) {
    const value = env[options[key].env];
    if (value !== undefined && value !== '') input[key] = readOption(key, value);
  }
  Object.assign(input, parseFlags(source.argv ?? []));
  Object.assign(input, source.overrides ?? {});
  return createConfig(input as ConfigInput);
}

/**
 * Reads `--flag value`, `--flag=value`, and for booleans `--flag` / `--no-flag`.
 * @throws ConfigError for an unknown flag or a missing value; a stray argument right after a secret's value
 * is not quoted back (it may be the rest of an unquoted secret).
 */
export function parseFlags(argv: readonly string[]): ConfigInput {
  const input: Record<string, unknown> = {};
  // The secret option whose value the previous argument was: a stray argument after it is likely the rest of
  // an unquoted secret with a space, and is not quoted back.
  let afterSecret: OptionKey | undefined;
  const stray = (argument: string, what: 'unexpected argument' | 'unknown flag', hint: string): ConfigError =>
    afterSecret === undefined
      ? new ConfigError(argument, `${what}${hint}`)
      : new ConfigError(describeOption(afterSecret), `is followed by an ${what}, not shown as it may be part of the secret (quote a value with spaces)`);
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] as string;
    if (!argument.startsWith('--')) throw stray(argument, 'unexpected argument', '; flags look like --port 8080');
    const body = argument.slice(2);
    const equals = body.indexOf('=');
    let name = equals === -1 ? body : body.slice(0, equals);
    let negated = false;
    if (!keyByFlag.has(name) && name.startsWith('no-') && keyByFlag.has(name.slice(3))) {
      name = name.slice(3);
      negated = true;
    }
    const key = keyByFlag.get(name);
    if (key === undefined) throw stray(`--${name}`, 'unknown flag', ' (see --help)');
    afterSecret = undefined;
    if (options[key].kind === 'boolean' && equals === -1) {
      const next = argv[index + 1];
      if (!negated && next !== undefined && isBooleanWord(next)) {
        input[key] = readOption(key, next);
        index++;
      } else {
        input[key] = !negated;
      }
      continue;
    }
    if (negated) throw new ConfigError(`--no-${name}`, 'only boolean flags can be negated');
    let value: string | undefined;
    if (equals !== -1) value = body.slice(equals + 1);
    else {
      value = argv[index + 1];
      index++;
    }
    if (value === undefined) throw new ConfigError(describeOption(key), 'needs a value');
    input[key] = readOption(key, value);
    if (options[key].secret !== undefined) afterSecret = key;
  }
  return input as ConfigInput;
}

/** One option's text read by its kind. @throws ConfigError naming the option and quoting the text (unless secret). */
function readOption(key: OptionKey, text: string): unknown {
  const reading = readText(options[key].kind, text);
  if (!reading.ok) throw new ConfigError(describeOption(key), `${reading.message}${gotValue(options[key].secret, text)}`);
  return reading.value;
}
