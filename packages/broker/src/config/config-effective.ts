import type { OptionKey } from './config.js';
import { options } from './config.js';
import { yamlEntry } from './config-yaml.js';
import type { LoadedConfig } from './load-config.js';
import type { AnyOptionRecord } from './option.js';
import { maskedText, shownValue } from './option-secret.js';

/**
 * `switchboard config check FILE`: the configuration a broker would run with, as YAML with each value's
 * origin beside it (the file's line, an environment variable, a flag, the default). A secret is shown as
 * `***`, a URL with its password masked; the rest can be loaded back as a configuration file.
 */
export function effectiveConfigText(loaded: LoadedConfig): string {
  const { config, origins, file } = loaded;
  const lines = [`# The effective configuration${file === undefined ? '' : ` of ${file}`}, with this environment and these flags; secrets masked.`];
  for (const key of Object.keys(options) as OptionKey[]) {
    const record: AnyOptionRecord = options[key];
    const origin = origins[key];
    const value = config[key];
    if (value === undefined) {
      lines.push(`# ${key}: (unset)`);
      continue;
    }
    const shown = shownValue(record.secret, value) ?? maskedText;
    const note = origin.from === 'file' ? origin.at : origin.from === 'env' || origin.from === 'flag' ? origin.name : origin.from;
    const entry = yamlEntry(key, shown);
    if (entry.length === 1) lines.push(`${entry[0]}  # ${note}`);
    else lines.push(`# ${note}`, ...entry);
  }
  return `${lines.join('\n')}\n`;
}
