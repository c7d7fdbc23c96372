// The rules of docs/architecture.md as data: which folder may import which folders and packages. The doc
// holds them as a table so that the page people read and the check that runs are the same text.

export interface FolderRule {
  /**
   * A folder relative to the repository root, e.g. `packages/broker/src/hub`, or one file where a package's
   * top-level files play different parts (`packages/broker/src/app.ts` composes what `errors.ts` serves).
   */
  readonly folder: string;
  /** Folders (relative to the root) and package names (`node:` for every Node builtin) it may import. */
  readonly mayImport: readonly string[];
  /** Of those, the ones it may import only with `import type` (their declarations, never their code). */
  readonly typesOnly: readonly string[];
}

/**
 * Parses the rows of the table under the heading `heading`: `| \`folder\` | \`a\`, \`b\` (types) |`. A
 * folder written `broker/src/hub` stands for `packages/broker/src/hub`; `bench` and other root folders as
 * they are. `(types)` after an entry allows only `import type` of it.
 */
export function parseRules(markdown: string, heading: string): FolderRule[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === heading);
  if (start < 0) throw new Error(`docs/architecture.md has no heading "${heading}"`);
  const rules: FolderRule[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break;
    if (!line.startsWith('|') || /^\|\s*-/.test(line) || /^\|\s*folder\s*\|/.test(line)) continue;
    const [folderCell = '', importsCell = ''] = line.split('|').slice(1, 3);
    const folder = ticked(folderCell)[0];
    if (folder === undefined) continue;
    const typesOnly = [...importsCell.matchAll(/`([^`]+)`\s*\(types\)/g)].map((match) => expand(match[1]!));
    rules.push({ folder: expand(folder), mayImport: ticked(importsCell).map(expand), typesOnly });
  }
  return rules;
}

function ticked(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
}

const packageFolder = /^(core|protocol|client|broker)\//;

function expand(name: string): string {
  return packageFolder.test(name) ? `packages/${name}` : name;
}

/** The rule that owns `file`: the file itself, or the folder that is the longest prefix of its path. */
export function ruleFor(rules: readonly FolderRule[], file: string): FolderRule | undefined {
  let best: FolderRule | undefined;
  for (const rule of rules) {
    const owns = file === rule.folder || file.startsWith(`${rule.folder}/`);
    if (owns && (best === undefined || rule.folder.length > best.folder.length)) best = rule;
  }
  return best;
}
