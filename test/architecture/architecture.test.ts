// docs/architecture.md says what each folder may import; this holds the code to it, and holds the table
// itself free of folder cycles.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { folderCycle, violations } from './architecture-check.js';
import { parseRules } from './architecture-rules.js';
import { edgesOf, importGraph, sourceFiles, specifiersOf } from './import-graph.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(`${root}/docs/architecture.md`, 'utf8');
const rules = parseRules(doc, '## What each folder may import');
const scanned = ['packages/core/src', 'packages/protocol/src', 'packages/client/src', 'packages/broker/src', 'packages/broker/console', 'bench'];

t.test('every import in the code is one docs/architecture.md allows', async (t) => {
  const edges = importGraph(root, scanned).filter((edge) => !edge.file.includes('/node_modules/'));
  t.ok(edges.length > 300, `the scan found the imports (${edges.length})`);
  t.same(violations(rules, edges), []);
});

t.test('the folders allowed to import each other form no cycle', async (t) => {
  t.equal(folderCycle(rules), undefined);
});

t.test('every folder or file in the table exists and holds code', async (t) => {
  const files = scanned.flatMap((folder) => sourceFiles(root, folder));
  for (const rule of rules) {
    t.ok(files.some((file) => file === rule.folder || file.startsWith(`${rule.folder}/`)), `${rule.folder} holds code`);
  }
});

// The checker itself, on made-up trees, so a check that passes is known to be able to fail.
t.test('the checker reports a forbidden folder, package and cycle', async (t) => {
  const table = [
    '## What each folder may import',
    '| folder | may import |',
    '| --- | --- |',
    '| `broker/src/hub` | `broker/src/topics`, `pino` |',
    '| `broker/src/topics` | `@switchboard/protocol` |',
    '| `broker/src/connection` | `broker/src/hub`, `broker/src/engine` (types) |',
    '| `broker/src/engine` | |',
    '## Next',
  ].join('\n');
  const made = parseRules(table, '## What each folder may import');
  t.same(made.map((rule) => rule.folder), ['packages/broker/src/hub', 'packages/broker/src/topics', 'packages/broker/src/connection', 'packages/broker/src/engine']);
  t.same(made[2]!.typesOnly, ['packages/broker/src/engine']);
  const hub = 'packages/broker/src/hub/hub.ts';
  const allowed = edgesOf(hub, "import { TopicTrie } from '../topics/topic-trie.js';\nimport pino from 'pino';");
  t.same(violations(made, allowed), []);
  const forbidden = edgesOf(hub, "import type { SendQueue } from '../connection/send-queue.js';\nimport { z } from 'zod';");
  t.same(violations(made, forbidden), [
    `${hub}: imports ../connection/send-queue.js (packages/broker/src/connection), which packages/broker/src/hub may not`,
    `${hub}: imports zod, which packages/broker/src/hub may not`,
  ]);
  t.same(violations(made, edgesOf('packages/broker/src/other/x.ts', "import 'pino';")), [
    'packages/broker/src/other/x.ts: its folder is not in the table',
  ]);
  const session = 'packages/broker/src/connection/session.ts';
  t.same(violations(made, edgesOf(session, "import type { Payload } from '../engine/engine.js';")), []);
  t.same(violations(made, edgesOf(session, "import { MemoryEngine } from '../engine/engine-memory.js';")), [
    `${session}: imports code from ../engine/engine-memory.js (packages/broker/src/engine), of which packages/broker/src/connection may import types only`,
  ]);
  t.equal(folderCycle(made), undefined);
  const cyclic = parseRules(`${table}\n`.replace('`pino` |', '`pino`, `broker/src/connection` |'), '## What each folder may import');
  t.same(folderCycle(cyclic), ['packages/broker/src/hub', 'packages/broker/src/connection', 'packages/broker/src/hub']);
});

t.test('imports are read in every form and never from comments', async (t) => {
  const source = [
    "import a from 'a';",
    "import type { B } from './b.js';",
    "export { c } from '@scope/c/sub';",
    "import 'side-effect';",
    "const d = await import('d');",
    "// import x from 'commented';",
    "/* import y from 'block'; */",
    "import {\n  e,\n  f,\n} from 'node:zlib';",
  ].join('\n');
  t.same(specifiersOf(source), ['a', './b.js', '@scope/c/sub', 'side-effect', 'd', 'node:zlib']);
  t.same(
    edgesOf('packages/core/src/x.ts', "import { inflateSync } from 'zlib';").map((edge) => edge.target),
    [{ kind: 'package', name: 'node:' }],
  );
});
