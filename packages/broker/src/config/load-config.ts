import { type Config, type ConfigInput, type OptionKey, buildConfig, describeOption, options } from './config.js';
import { ConfigError } from './config-error.js';
import { readConfigFile } from './config-file.js';
import { gotValue } from './option-secret.js';
import { isBooleanWord, readText } from './option-text.js';

/**
 * The configuration from the process: a configuration file (`--config FILE`), then environment variables,
 * then command-line flags, then typed overrides; each later source wins. The text sources map a name to an
 * option key and read the text by the option's kind; the file is read by `config-file.ts`; the result goes
 * through `createConfig`'s validation like any typed input.
 */

export interface LoadConfigOptions {
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Command-line arguments after the command (`--port 8080`, `--port=8080`, `--no-permessage-deflate`), and
   * `--config FILE` for a configuration file.
   */
  readonly argv?: readonly string[];
  /** Typed values applied over the file, env and flags (for embedding and tests). */
  readonly overrides?: ConfigInput;
}

/** Where an option's value came from (`switchboard config check` shows it beside the value). */
export type ConfigOrigin =
  | { readonly from: 'default' | 'derived' | 'unset' | 'override' }
  | { readonly from: 'file'; readonly at: string }
  | { readonly from: 'env' | 'flag'; readonly name: string };

export interface LoadedConfig {
  readonly config: Config;
  readonly origins: Readonly<Record<OptionKey, ConfigOrigin>>;
  /** The configuration file read, if any. */
  readonly file: string | undefined;
}

/** The flag naming the configuration file; not an option itself. */
export const configFileFlag = 'config';

const optionKeys = Object.keys(options) as OptionKey[];
const keyByFlag = new Map<string, OptionKey>(optionKeys.map((key) => [options[key].flag, key]));

/**
 * Reads the file, env, flags, then `overrides`, and validates the result.
 * @throws ConfigError naming the first bad field (unknown flags and file keys included).
 */
export function loadConfig(source: LoadConfigOptions = {}): Config {
  return resolveConfig(source).config;
}

/** `loadConfig`, with where each value came from. */
export function resolveConfig(source: LoadConfigOptions = {}): LoadedConfig {
  const flags = readFlags(source.argv ?? []);
  const file = flags.configFile === undefined ? undefined : readConfigFile(flags.configFile);
  const input: Record<string, unknown> = {};
  const origins: Partial<Record<OptionKey, ConfigOrigin>> = {};
  const take = (values: ConfigInput, originOf: (key: OptionKey) => ConfigOrigin): void => {
    for (const [key, value] of Object.entries(values) as [OptionKey, unknown][]) {
      if (value === undefined) continue;
      input[key] = value;
      origins[key] = originOf(key);
    }
  };
  if (file !== undefined) take(file.values, (key) => ({ from: 'file', at: file.at(key) }));
  take(readEnv(source.env ?? process.env), (key) => ({ from: 'env', name: options[key].env }));
  take(flags.input, (key) => ({ from: 'flag', name: `--${options[key].flag}` }));
  take(source.overrides ?? {}, () => ({ from: 'override' }));
  const config = buildConfig(input as ConfigInput, (key) => {
    const origin = origins[key];
    return origin?.from === 'file' ? `${origin.at}: ${key}` : describeOption(key);
  });
  for (const key of optionKeys) {
    const record = options[key];
    origins[key] ??= { from: 'default' in record ? 'default' : 'derive' in record ? 'derived' : 'unset' };
  }
  return { config, origins: origins as Record<OptionKey, ConfigOrigin>, file: file?.file };
}

/** The options set in `env` (an empty variable is unset). @throws ConfigError naming the variable. */
function readEnv(env: Readonly<Record<string, string | undefined>>): ConfigInput {
  const input: Record<string, unknown> = {};
  for (const key of optionKeys) {
    const value = env[options[key].env];
    if (value !== undefined && value !== '') input[key] = readOption(key, value);
  }
  return input as ConfigInput;
}

/**
 * Reads `--flag value`, `--flag=value`, and for booleans `--flag` / `--no-flag` (`--config` is left out:
 * see `resolveConfig`).
 * @throws ConfigError for an unknown flag or a missing value; a stray argument right after a secret's value
 * is not quoted back (it may be the rest of an unquoted secret).
 */
export function parseFlags(argv: readonly string[]): ConfigInput {
  return readFlags(argv).input;
}

function readFlags(argv: readonly string[]): { readonly input: ConfigInput; readonly configFile: string | undefined } {
  const input: Record<string, unknown> = {};
  let configFile: string | undefined;
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
    if (name === configFileFlag) {
      afterSecret = undefined;
      const file = equals === -1 ? argv[++index] : body.slice(equals + 1);
      if (file === undefined || file === '') throw new ConfigError(`--${configFileFlag}`, 'needs a file (switchboard.yaml or .json)');
      if (configFile !== undefined) throw new ConfigError(`--${configFileFlag}`, 'may be given once');
      configFile = file;
      continue;
    }
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
  return { input: input as ConfigInput, configFile };
}

/** One option's text read by its kind. @throws ConfigError naming the option and quoting the text (unless secret). */
function readOption(key: OptionKey, text: string): unknown {
  const reading = readText(options[key].kind, text);
  if (!reading.ok) throw new ConfigError(describeOption(key), `${reading.message}${gotValue(options[key].secret, text)}`);
  return reading.value;
}
