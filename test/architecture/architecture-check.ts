// Holds an import graph against the rules: each import must be allowed for the folder it is written in,
// and the allowed folder graph must have no cycle (a cycle means two folders are one concept, or neither).
import type { ImportEdge } from './import-graph.js';
import { ruleFor, type FolderRule } from './architecture-rules.js';

export function violations(rules: readonly FolderRule[], edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  for (const edge of edges) {
    const owner = ruleFor(rules, edge.file);
    if (owner === undefined) {
      found.push(`${edge.file}: its folder is not in the table`);
      continue;
    }
    if (edge.target.kind === 'package') {
      if (!owner.mayImport.includes(edge.target.name)) {
        found.push(`${edge.file}: imports ${edge.specifier}, which ${owner.folder} may not`);
      } else if (owner.typesOnly.includes(edge.target.name) && !edge.typeOnly) {
        found.push(`${edge.file}: imports code from ${edge.specifier}, of which ${owner.folder} may import types only`);
      }
      continue;
    }
    const targetOwner = ruleFor(rules, edge.target.path);
    if (targetOwner === undefined) {
      found.push(`${edge.file}: imports ${edge.specifier}, outside every folder in the table`);
    } else if (targetOwner.folder !== owner.folder && !owner.mayImport.includes(targetOwner.folder)) {
      found.push(`${edge.file}: imports ${edge.specifier} (${targetOwner.folder}), which ${owner.folder} may not`);
    } else if (owner.typesOnly.includes(targetOwner.folder) && !edge.typeOnly) {
      found.push(`${edge.file}: imports code from ${edge.specifier} (${targetOwner.folder}), of which ${owner.folder} may import types only`);
    }
  }
  return found;
}

/** A cycle among the folders' allowed imports, as the list of folders around it, or undefined. */
export function folderCycle(rules: readonly FolderRule[]): string[] | undefined {
  const folders = new Set(rules.map((rule) => rule.folder));
  const next = new Map(rules.map((rule) => [rule.folder, rule.mayImport.filter((name) => folders.has(name))]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (folder: string): string[] | undefined => {
    if (state.get(folder) === 'done') return undefined;
    if (state.get(folder) === 'visiting') return [...path.slice(path.indexOf(folder)), folder];
    state.set(folder, 'visiting');
    path.push(folder);
    for (const target of next.get(folder) ?? []) {
      const cycle = visit(target);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(folder, 'done');
    return undefined;
  };
  for (const folder of folders) {
    const cycle = visit(folder);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}
