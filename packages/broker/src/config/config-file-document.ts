import { extname } from 'node:path';
import { type ErrorCode, LineCounter, type Node, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { ConfigError } from './config-error.js';

/**
 * A configuration file's text as plain data, with the line of every key for error messages. YAML through
 * the `yaml` package (it reports positions); JSON through `JSON.parse` (strict JSON), with the lines
 * looked up in the same text read as YAML, which JSON's syntax is a subset of.
 *
 * No message here quotes the file's text: a syntax error may sit inside a secret's value, so it is reported
 * by its line, column and a fixed description, never with the parser's excerpt of the source.
 */

export type ConfigFileFormat = 'yaml' | 'json';

/** Keys (of mappings) and indexes (of lists) from the top of the document. */
export type KeyPath = readonly (string | number)[];

export interface ConfigDocument {
  /** The file as the operator named it. */
  readonly file: string;
  /** The top-level value: for a configuration, a plain object of option keys; `{}` for an empty file. */
  readonly value: unknown;
  /** The 1-based line of the key (or list item) at `path`; the nearest enclosing one's if the format has none. */
  lineOf(path: KeyPath): number | undefined;
}

/** The format a file name says: `.yaml`/`.yml` or `.json`. @throws ConfigError for any other name. */
export function formatOf(file: string): ConfigFileFormat {
  const extension = extname(file).toLowerCase();
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  if (extension === '.json') return 'json';
  throw new ConfigError(file, 'a configuration file must be .yaml, .yml or .json');
}

/**
 * What each YAML error code means, in words that quote nothing from the file (the parser's own messages
 * sometimes do: an invalid escape sequence, an unknown tag).
 */
const yamlErrorText: Partial<Record<ErrorCode, string>> = {
  BAD_INDENT: 'bad indentation',
  TAB_AS_INDENT: 'a tab used as indentation (YAML indents with spaces)',
  DUPLICATE_KEY: 'the same key twice in one mapping',
  MISSING_CHAR: 'a missing character (an unclosed quote, bracket or brace?)',
  BAD_DQ_ESCAPE: 'an invalid escape sequence in a double-quoted string',
  MULTIPLE_DOCS: 'more than one document (a configuration is one)',
  MULTILINE_IMPLICIT_KEY: 'a key that spans lines (a missing colon?)',
  BLOCK_AS_IMPLICIT_KEY: 'a nested block used as a key (a missing colon?)',
  UNEXPECTED_TOKEN: 'unexpected text (a missing colon or a stray character?)',
  BAD_SCALAR_START: 'a plain value starting with a reserved character (quote it)',
  TAG_RESOLVE_FAILED: 'an unknown tag',
  BAD_ALIAS: 'an alias to an unknown anchor',
  RESOURCE_EXHAUSTION: 'too many aliases',
};

/** Parses a configuration file's text. @throws ConfigError `<file>:<line>:<col>` for a syntax error. */
export function parseConfigDocument(text: string, file: string, format: ConfigFileFormat): ConfigDocument {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): string => {
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      // JSON.parse's message quotes the text around the error, so only the offset it names (if it does) is
      // kept; else the YAML reading's, when it found the same error.
      const offset = /at position (\d+)/.exec(String(error))?.[1] ?? document.errors[0]?.pos[0];
      throw new ConfigError(offset === undefined ? file : at(Number(offset)), 'is not valid JSON');
    }
  } else {
    const error = document.errors[0];
    if (error !== undefined) throw new ConfigError(at(error.pos[0]), `is not valid YAML: ${yamlErrorText[error.code] ?? `error ${error.code}`}`);
    try {
      value = document.toJS({ maxAliasCount: 100 }) ?? {};
    } catch {
      // The only failure left once parsing succeeded: aliases expanding past the limit (a "billion laughs").
      throw new ConfigError(file, `is not valid YAML: ${yamlErrorText.RESOURCE_EXHAUSTION}`);
    }
  }
  return {
    file,
    value,
    lineOf: (path) => {
      const offset = offsetOf(document.contents, path);
      return offset === undefined ? undefined : lines.linePos(offset).line;
    },
  };
}

/** The start of the deepest node on `path`: a mapping's key, a list's item. */
function offsetOf(root: Node | null, path: KeyPath): number | undefined {
  let node: unknown = root;
  let offset: number | undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (pair === undefined) break;
      offset = isScalar(pair.key) ? pair.key.range?.[0] : offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      offset = (item as Node).range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** `slowConsumerRules[1].policy`, `namespaces["chat."].historySize`: a path as an operator would write it. */
export function formatPath(path: KeyPath): string {
  return path
    .map((segment, index) => {
      if (typeof segment === 'number') return `[${segment}]`;
      // A top-level key as written (it is what the operator looks for); deeper ones as a JS property path.
      if (index === 0 && /^[!-~]+$/.test(segment)) return segment;
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) return `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}
