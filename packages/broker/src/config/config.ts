import type { z } from 'zod';
import { firstInconsistency } from './config-checks.js';
import { ConfigError } from './config-error.js';
import type { AnyOptionRecord } from './option.js';
import { issueMessage } from './option-schemas.js';
import { gotValue } from './option-secret.js';
import { authOptions } from './options-auth.js';
import { deliveryOptions } from './options-delivery.js';
import { historyOptions } from './options-history.js';
import { httpOptions } from './options-http.js';
import { limitOptions } from './options-limits.js';
import { namespaceOptions } from './options-namespaces.js';
import { presenceOptions } from './options-presence.js';
import { proxyOptions } from './options-proxy.js';
import { redisOptions } from './options-redis.js';
import { serverOptions } from './options-server.js';
import { sheddingOptions } from './options-shedding.js';
import { tlsOptions } from './options-tls.js';
import { userOptions } from './options-users.js';
import { webhookOptions } from './options-webhooks.js';

/**
 * The broker's configuration, derived from one record per option (`option.ts`, grouped by concern in
 * `options-*.ts`): the `Config` type, the defaults and validation here, env and flags in `load-config.ts`,
 * `--help` in `config-help.ts`. A bad value stops startup with a {@link ConfigError} naming the field, e.g.
 * `PORT (--port): must be an integer from 0 to 65535, got "http"`; a secret's value is not quoted, or quoted
 * with its password masked (option-secret.ts).
 *
 * Every limit sits in its record with the reason for its default; crossing it has one documented outcome
 * (see `docs/protocol.md` §10-§12 and `docs/operations.md`).
 */

/** Every option by its `Config` key. Order is the `--help` order. */
export const options = {
  ...serverOptions,
  ...tlsOptions,
  ...redisOptions,
  ...authOptions,
  ...limitOptions,
  ...deliveryOptions,
  ...historyOptions,
  ...httpOptions,
  ...sheddingOptions,
  ...userOptions,
  ...namespaceOptions,
  ...presenceOptions,
  ...webhookOptions,
  ...proxyOptions,
};

type Options = typeof options;
export type OptionKey = keyof Options;

/** A value as the broker holds it: arrays and their items read-only. */
type Held<T> = T extends readonly (infer Item)[] ? readonly Held<Item>[] : T extends object ? { readonly [P in keyof T]: T[P] } : T;

/** The validated configuration: each option's schema output; derived options (`maxFrameBytes`, ...) filled in. */
export type Config = {
  readonly [K in OptionKey]: Held<z.output<Options[K]['schema']>> | (Options[K] extends { readonly optional: true } ? undefined : never);
};

/** What callers may pass: every field optional, typed values (strings from env and flags are read first). */
export type ConfigInput = { -readonly [K in OptionKey]?: z.input<Options[K]['schema']> | undefined };

/** A slow-consumer policy for the topics a pattern matches. */
export type SlowConsumerRule = Config['slowConsumerRules'][number];

type DefaultKey = { [K in OptionKey]: Options[K] extends { readonly default: unknown } ? K : never }[OptionKey];

/** The records as the code that walks them sees them; derivations checked against `Config` (see `derive`). */
const records: { readonly [K in OptionKey]: AnyOptionRecord & { readonly derive?: (options: Config) => unknown } } = options;
const recordEntries = Object.entries(records) as [OptionKey, (typeof records)[OptionKey]][];

/** The constant defaults, each record's `default` (its reason beside it there). Derived and optional options have none. */
export const configDefaults = Object.fromEntries(
  recordEntries.flatMap(([key, record]) => ('default' in record ? [[key, record.default]] : [])),
) as { readonly [K in DefaultKey]: Config[K] };

/** `ENV_NAME (--flag)`: how an error names an option, as the operator can set it. */
export function describeOption(key: OptionKey): string {
  const record = records[key];
  return `${record.env} (--${record.flag})`;
}

/**
 * Builds a validated config from typed values (what tests and embedders use; `loadConfig` reads a file, env
 * and flags into the same input). Each option in order: its value, else its default, through its schema;
 * then the derived ones; then the rules between options.
 * @throws ConfigError naming the first bad field.
 */
export function createConfig(input: ConfigInput = {}): Config {
  return buildConfig(input, describeOption);
}

/** `createConfig`, with errors naming an option by `describe` (where its value came from: a file's line). */
export function buildConfig(input: ConfigInput, describe: (key: OptionKey) => string): Config {
  const values: Record<string, unknown> = {};
  for (const [key, record] of recordEntries) {
    const raw = input[key] ?? ('default' in record ? record.default : undefined);
    const result = ('default' in record ? record.schema : record.schema.optional()).safeParse(raw);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue !== undefined && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
      throw new ConfigError(describe(key), `${issue === undefined ? 'invalid' : issueMessage(issue)}${where}${gotValue(record.secret, raw)}`);
    }
    values[key] = result.data;
  }
  // Derivations read only options that are not derived (option.ts), all known by now.
  const known = values as Config;
  for (const [key, record] of recordEntries) {
    if ('derive' in record && values[key] === undefined) values[key] = record.derive(known);
  }
  const config = values as Config;
  const inconsistency = firstInconsistency(config);
  if (inconsistency !== undefined) throw new ConfigError(describe(inconsistency.key), inconsistency.message);
  return config;
}
