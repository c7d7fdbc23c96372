import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { type ConfigDocument, type KeyPath, formatOf, formatPath, parseConfigDocument } from './config-file-document.js';
import { ConfigError } from './config-error.js';
import { type ConfigInput, type OptionKey, options } from './config.js';
import { didYouMean, ownSpellings } from './nearest-key.js';
import type { AnyOptionRecord } from './option.js';
import { issueMessage } from './option-schemas.js';
import { gotValue } from './option-secret.js';
import { readText } from './option-text.js';

/**
 * `--config FILE`: the same options as the environment and flags, keyed by their `Config` key (camelCase,
 * `maxQueuedBytes`), so a file, `createConfig({...})` and the output of `switchboard config check` use one set
 * of names. A value is typed (`maxQueuedBytes: 1048576`, `perMessageDeflate: true`, lists as lists) or text
 * read as the environment's would be (`maxQueuedBytes: 1MiB`, `historyTtlMs: 5m`); `null` (or an empty
 * value) leaves the option unset. Each value is checked against its option's schema here, so an error names
 * the file, the line and the key path; the rules between options are checked later with the rest.
 */

export interface ConfigFileInput {
  readonly file: string;
  /** The options the file sets, as read (text through the option's kind), each valid on its own. */
  readonly values: ConfigInput;
  /** Where the file sets `key`: `<file>:<line>`. */
  at(key: OptionKey): string;
}

/** Option keys are at most about 30 characters; secrets are at least 32 bytes. */
const maxQuotedKeyLength = 40;

const records: Readonly<Record<OptionKey, AnyOptionRecord>> = options;

/** Every key with the spellings an operator might use for it (its env and flag names): for suggestions. */
const keySpellings = new Map<string, readonly string[]>(
  (Object.entries(records) as [OptionKey, AnyOptionRecord][]).map(([key, record]) => [key, [key, record.env, record.flag]]),
);

/** Reads and checks a configuration file. @throws ConfigError naming the file, the line and the key path. */
export function readConfigFile(file: string): ConfigFileInput {
  const format = formatOf(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(file, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? 'error'})`);
  }
  return configFileInput(parseConfigDocument(text, file, format));
}

/** Checks a parsed configuration file's values. @throws ConfigError naming the file, the line and the key path. */
export function configFileInput(document: ConfigDocument): ConfigFileInput {
  const { file, value } = document;
  const where = (path: KeyPath): string => {
    const line = document.lineOf(path);
    return line === undefined ? file : `${file}:${line}`;
  };
  const fail = (path: KeyPath, message: string, shownPath: string | null = formatPath(path)): ConfigError =>
    new ConfigError(shownPath === null ? where(path) : `${where(path)}: ${shownPath}`, message);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(file, 'must be a mapping of option keys to values (see `switchboard config example`)');
  }
  const values: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!Object.hasOwn(records, name)) {
      // A long unknown key is more likely a value that lost its key (a secret, even) than a typo: not quoted.
      if (name.length > maxQuotedKeyLength) throw fail([name], `a key of ${name.length} characters is not an option (not shown: it may be a misplaced value)`, null);
      throw fail([name], `unknown key${didYouMean(name, keySpellings)}`);
    }
    const key = name as OptionKey;
    if (raw === null) continue;
    const checked = checkValue(records[key], raw);
    if (!checked.ok) throw fail([key, ...checked.path], checked.message);
    values[key] = checked.value;
  }
  return {
    file,
    values: values as ConfigInput,
    at: (key) => where([key]),
  };
}

type Checked = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly path: KeyPath; readonly message: string };

/**
 * One option's value from a file: text read by the option's kind (unless the option is text), then the
 * option's schema. A refusal's message quotes the value at the failing path, as the option's `secret`
 * allows.
 */
function checkValue(record: AnyOptionRecord, raw: unknown): Checked {
  let value = raw;
  if (typeof raw === 'string' && record.kind !== 'string') {
    const reading = readText(record.kind, raw);
    if (!reading.ok) return { ok: false, path: [], message: `${reading.message}${gotValue(record.secret, raw)}` };
    value = reading.value;
  }
  const result = record.schema.safeParse(value);
  if (result.success) return { ok: true, value };
  // An unknown key first: a misspelt key also makes the key it was meant to be missing.
  const { issues } = result.error;
  const issue = (issues.find((candidate) => candidate.code === 'unrecognized_keys') ?? issues[0]) as z.core.$ZodIssue;
  const path = issue.path.filter((segment) => typeof segment !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const unknown = issue.keys[0] ?? '';
    const known = ownSpellings(objectKeysAt(record.schema, path));
    return { ok: false, path: [...path, unknown], message: `unknown key${didYouMean(unknown, known)}` };
  }
  // A bad key is named by the path already; the value under it is not what is wrong.
  if (issue.code === 'invalid_key') return { ok: false, path, message: issueMessage(issue) };
  const found = valueAt(value, path);
  if (found === undefined) return { ok: false, path, message: 'is required' };
  return { ok: false, path, message: `${issue.message}${gotValue(record.secret, found)}` };
}

function valueAt(value: unknown, path: KeyPath): unknown {
  let node = value;
  for (const segment of path) node = typeof node === 'object' && node !== null ? (node as Record<string | number, unknown>)[segment] : undefined;
  return node;
}

/** The keys the object schema at `path` (inside lists, records and optionals) knows. */
function objectKeysAt(schema: z.core.$ZodType, path: KeyPath): string[] {
  let def = schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
  let index = 0;
  for (;;) {
    const inner = (name: string) => (def[name] as z.core.$ZodType)._zod.def as typeof def;
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') def = inner('innerType');
    else if (def.type === 'pipe') def = inner('in');
    else if (index < path.length && def.type === 'array') [def, index] = [inner('element'), index + 1];
    else if (index < path.length && def.type === 'record') [def, index] = [inner('valueType'), index + 1];
    else if (index < path.length && def.type === 'object') {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      const next = shape[String(path[index])];
      if (next === undefined) return [];
      [def, index] = [next._zod.def as typeof def, index + 1];
    } else break;
  }
  return def.type === 'object' ? Object.keys(def.shape as object) : [];
}
