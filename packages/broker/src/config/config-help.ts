import { type OptionKey, configDefaults, options } from './config.js';
import type { AnyOptionRecord } from './option.js';
import { shownValue } from './option-secret.js';

/** Every option as documented: flag, environment variable, meaning, default (for `--help` and docs/operations.md). */
export interface OptionReference {
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  /**
   * The constant default as text (a list comma-separated); undefined for derived and optional options, and
   * for a secret's (never shown; a URL's password masked).
   */
  readonly fallback: string | undefined;
}

export function configReference(): OptionReference[] {
  const defaults: Partial<Record<OptionKey, unknown>> = configDefaults;
  return (Object.keys(options) as OptionKey[]).map((key) => {
    const { flag, env, help, secret }: AnyOptionRecord = options[key];
    const fallback = shownValue(secret, defaults[key]);
    return { key, flag: `--${flag}`, env, help, fallback: fallback === undefined ? undefined : defaultText(fallback) };
  });
}

/** The `--help` text: every flag with its environment variable, default and reason. */
export function configHelp(): string {
  const lines = ['Options (flag / environment variable: meaning [default]):', ''];
  for (const { flag, env, help, fallback } of configReference()) {
    lines.push(`  ${flag} / ${env}`, `      ${help}${fallback === undefined ? '' : ` [${fallback}]`}`);
  }
  return lines.join('\n');
}

function defaultText(value: unknown): string {
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(',');
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}
