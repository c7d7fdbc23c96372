/**
 * Reading an option's value from text (an environment variable, a flag, or a text value in a configuration
 * file). Pure: a bad text yields a message, and the caller names the option. Typed values (from code, or a
 * file's numbers, booleans and lists) skip this step; both then go through the option's schema.
 */

/** How an option's text is read. */
export type TextKind = 'string' | 'int' | 'bytes' | 'duration' | 'boolean' | 'list' | 'rules' | 'json';

export type TextReading = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

export const KiB = 1024;
export const MiB = 1024 * KiB;

const byteUnits: Record<string, number> = { '': 1, b: 1, k: KiB, kb: 1000, kib: KiB, m: MiB, mb: 1e6, mib: MiB, g: 1024 * MiB, gb: 1e9, gib: 1024 * MiB };
const durationUnits: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const trueWords = ['1', 'true', 'yes', 'on'];
const falseWords = ['0', 'false', 'no', 'off'];

/** Reads `text` as `kind`: surrounding spaces are ignored; lists are comma-separated with empty items dropped. */
export function readText(kind: TextKind, text: string): TextReading {
  const trimmed = text.trim();
  switch (kind) {
    case 'string':
      return read(trimmed);
    case 'int':
      return /^-?\d+$/.test(trimmed) ? read(Number(trimmed)) : refuse('must be an integer');
    case 'bytes':
      return readScaled(trimmed, byteUnits) ?? refuse('must be a byte count such as 65536, 64KiB or 1MiB');
    case 'duration':
      return readScaled(trimmed, durationUnits) ?? refuse('must be a duration such as 5000, 5000ms, 30s or 2m');
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (trueWords.includes(lower)) return read(true);
      if (falseWords.includes(lower)) return read(false);
      return refuse('must be true or false');
    }
    case 'list':
      return read(trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim()).filter((item) => item !== ''));
    case 'rules':
      return trimmed === '' ? read([]) : readRules(trimmed.split(','));
    case 'json':
      return readJson(trimmed);
  }
}

/** Whether a flag's next argument is a boolean's value (`--permessage-deflate false`) rather than another flag. */
export function isBooleanWord(text: string): boolean {
  return /^(true|false|1|0|yes|no|on|off)$/i.test(text);
}

/** `pattern=policy` items; the policy is after the last `=`, so a pattern may not contain one. */
function readRules(items: readonly string[]): TextReading {
  const rules: { pattern: string; policy: string }[] = [];
  for (const rule of items) {
    const at = rule.lastIndexOf('=');
    if (at <= 0) return refuse('must be a list of pattern=policy');
    rules.push({ pattern: rule.slice(0, at).trim(), policy: rule.slice(at + 1).trim() });
  }
  return read(rules);
}

/** A structured value (namespaces) as JSON; the parser's message is not kept, as it quotes the text. */
function readJson(text: string): TextReading {
  try {
    return read(JSON.parse(text));
  } catch {
    return refuse('must be JSON, such as {"chat.": {"historySize": 10}}');
  }
}

/** A number with an optional unit from `units` (case-insensitive), rounded to an integer. */
function readScaled(text: string, units: Readonly<Record<string, number>>): TextReading | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text);
  const unit = match === null ? undefined : units[(match[2] ?? '').toLowerCase()];
  return match === null || unit === undefined ? undefined : read(Math.round(Number(match[1]) * unit));
}

function read(value: unknown): TextReading {
  return { ok: true, value };
}

function refuse(message: string): TextReading {
  return { ok: false, message };
}
