import type { z } from 'zod';
import type { SecretKind } from './option-secret.js';
import type { TextKind } from './option-text.js';

/**
 * One configuration option, declared once: the environment variable and flag it is read from, how its text
 * is read, the values it accepts, what it is when nothing sets it and why, and its `--help` line. The
 * `Config` type, the defaults, validation, env and flag parsing and `--help` are all derived from these
 * records (`config.ts`, `load-config.ts`, `config-help.ts`), so an option is named in one place only.
 *
 * When nothing sets an option, exactly one of these applies:
 * - `default`: a constant, with its reason in a comment beside it;
 * - `derive`: computed once the other options are known (MAX_RECOVERY_BYTES is half of MAX_QUEUED_BYTES);
 *   it reads only options that are not derived themselves;
 * - `optional: true`: unset is a state of its own, `undefined` in `Config` (no JWT_SECRET: no tokens).
 * No option is required: a broker started with no configuration at all runs, in memory, on 127.0.0.1:8080.
 */
export type OptionRecord<Schema extends z.ZodType = z.ZodType, Inputs = never> = OptionSource<Schema> & OptionFallback<Schema, Inputs>;

export interface OptionSource<Schema extends z.ZodType> {
  /** Environment variable, SCREAMING_SNAKE_CASE. */
  readonly env: string;
  /** Command-line flag without its `--`, kebab-case; booleans also take `--no-<flag>`. */
  readonly flag: string;
  /** How a value is read from text (env and flags). */
  readonly kind: TextKind;
  /**
   * The values accepted once read; its messages are shown to the operator after the option's name, so for a
   * `secret` option they state the rule and never quote the value (test/config/secrets.test.ts checks).
   */
  readonly schema: Schema;
  /**
   * Set when the value is, or carries, a credential (option-secret.ts): errors, `--help` and the broker's
   * logs then never show it, or show it with its password masked. Every option that holds a credential
   * must say so here; the secrets test feeds each one a value and searches all output for it.
   */
  readonly secret?: SecretKind;
  /** One line for `--help` and docs/operations.md: what it is, and why the default is what it is. */
  readonly help: string;
}

export type OptionFallback<Schema extends z.ZodType, Inputs> = OptionDefault<Schema> | OptionDerived<Schema, Inputs> | OptionUnset;

export interface OptionDefault<Schema extends z.ZodType> {
  readonly default: z.input<Schema>;
}

export interface OptionDerived<Schema extends z.ZodType, Inputs> {
  /** Called with every option that is not derived; `Inputs` names the ones it reads (checked in config.ts). */
  readonly derive: (options: Inputs) => z.output<Schema>;
}

export interface OptionUnset {
  readonly optional: true;
}

/** Any record, for code that walks them all without their value types. */
export type AnyOptionRecord = OptionRecord<z.ZodType, never>;

/**
 * Declares an option. The identity at run time; at compile time it checks the default or the derivation
 * against the schema and keeps which of the three the record is, from which `Config` is derived.
 */
export function option<Schema extends z.ZodType>(record: OptionSource<Schema> & OptionDefault<Schema>): OptionSource<Schema> & OptionDefault<Schema>;
export function option<Schema extends z.ZodType, Inputs>(
  record: OptionSource<Schema> & OptionDerived<Schema, Inputs>,
): OptionSource<Schema> & OptionDerived<Schema, Inputs>;
export function option<Schema extends z.ZodType>(record: OptionSource<Schema> & OptionUnset): OptionSource<Schema> & OptionUnset;
export function option(record: AnyOptionRecord): AnyOptionRecord {
  return record;
}
