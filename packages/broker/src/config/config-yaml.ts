import { stringify } from 'yaml';

/** Writing configuration as YAML for people to read: entries, and comments wrapped to a width. Pure. */

const commentWidth = 100;

/** `key: value` as YAML lines (a list as a block list), quoted where YAML needs it (`">"`, `"*"`). */
export function yamlEntry(key: string, value: unknown): string[] {
  return stringify({ [key]: value }, { lineWidth: 0 }).trimEnd().split('\n');
}

/** `text` as `# ` comment lines of at most about 100 columns, each after `indent`. */
export function yamlComment(text: string, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((part) => part !== '')) {
    if (line !== '' && indent.length + 2 + line.length + 1 + word.length > commentWidth) {
      lines.push(`${indent}# ${line}`);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line === '' ? `${indent}#` : `${indent}# ${line}`);
  return lines;
}
