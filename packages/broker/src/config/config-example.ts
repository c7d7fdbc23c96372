import { type OptionKey, configDefaults, options } from './config.js';
import { yamlComment, yamlEntry } from './config-yaml.js';
import type { AnyOptionRecord } from './option.js';

/**
 * `switchboard config example`: a configuration file with every option, its help text, its environment
 * variable and flag, and its default. Loading it unchanged gives the defaults (a test checks), so it is a
 * starting point to edit; options without a constant default (derived from others, or unset until set) are
 * there commented out.
 */

/** Paragraphs of the file's opening comment. */
const header = [
  'Switchboard broker configuration: switchboard --config switchboard.yaml (or a .json file with the same keys).',
  "Keys are the options' camelCase names, as in createConfig(); each option can also be set by its environment variable or flag (named above it). Environment variables override this file, and flags override both. Sizes may be written as 65536, 64KiB or 1MiB; durations as 5000 (ms), 500ms, 30s or 2m; lists as YAML lists or comma-separated text. A key set to null, or left empty, is unset. An unknown key is an error.",
  'Each value below is the default. Options without a fixed default are commented out: they are computed from other options (or the host) when unset, or stay unset unless set.',
  'Secrets (jwtSecret, adminToken, a password in redisUrl) are never printed by the broker. Prefer the environment for them, or keep this file readable by the broker only.',
];

export function configExample(): string {
  const defaults: Partial<Record<OptionKey, unknown>> = configDefaults;
  const lines = header.flatMap((text, index) => [...(index === 0 ? [] : ['#']), ...yamlComment(text)]);
  for (const key of Object.keys(options) as OptionKey[]) {
    const record: AnyOptionRecord = options[key];
    const fallback = 'default' in record ? '' : 'derive' in record ? '; computed when unset' : '; unset by default';
    const where = `env ${record.env}, flag --${record.flag}${fallback}${record.secret === undefined ? '' : '; a secret'}`;
    lines.push('', ...yamlComment(record.help), ...yamlComment(where));
    lines.push(...('default' in record ? yamlEntry(key, defaults[key]) : [`# ${key}:`]));
  }
  return `${lines.join('\n')}\n`;
}
