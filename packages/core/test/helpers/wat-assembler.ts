// A WebAssembly text-format assembler for the small subset that src/mask-simd.wat uses: memories and
// functions with exports, params and locals, and flat (unfolded) instructions from the table below. It
// exists so a test can prove that the bytes mask-simd.ts embeds are that file assembled, without a
// WebAssembly toolchain. Anything outside the subset throws rather than being guessed at.

type SExpr = string | SExpr[];

const VALUE_TYPES: Record<string, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Opcode bytes, and the natural alignment (log2 bytes) of the memory instructions. */
const PLAIN: Record<string, number[]> = {
  'i32.add': [0x6a],
  'i32.and': [0x71],
  'i32.xor': [0x73],
  'i32.ge_u': [0x4f],
  'i32.rotr': [0x78],
  'v128.xor': [0xfd, 0x51],
  'i32x4.splat': [0xfd, 0x11],
};
const MEMORY: Record<string, { opcode: number[]; naturalAlign: number }> = {
  'i32.load8_u': { opcode: [0x2d], naturalAlign: 0 },
  'i32.store8': { opcode: [0x3a], naturalAlign: 0 },
  'v128.load': { opcode: [0xfd, 0x00], naturalAlign: 4 },
  'v128.store': { opcode: [0xfd, 0x0b], naturalAlign: 4 },
};

export function assembleWat(source: string): Uint8Array<ArrayBuffer> {
  const module = parse(tokenize(source));
  if (!Array.isArray(module) || module[0] !== 'module') throw new Error('expected (module ...)');
  const memories: number[][] = [];
  const exports: number[][] = [];
  const types: number[][] = [];
  const functions: number[] = [];
  const bodies: number[][] = [];
  for (const field of module.slice(1)) {
    if (!Array.isArray(field)) throw new Error(`unexpected ${field} in module`);
    const [kind, ...rest] = field;
    if (kind === 'memory') {
      const limits = rest.filter((part): part is string => typeof part === 'string').map(Number);
      for (const name of exportNames(rest)) exports.push([...encodeName(name), 0x02, ...u32(memories.length)]);
      memories.push(limits.length === 1 ? [0x00, ...u32(limits[0]!)] : [0x01, ...u32(limits[0]!), ...u32(limits[1]!)]);
    } else if (kind === 'func') {
      for (const name of exportNames(rest)) exports.push([...encodeName(name), 0x00, ...u32(functions.length)]);
      const { type, body } = assembleFunction(rest);
      let index = types.findIndex((known) => known.join() === type.join());
      if (index === -1) index = types.push(type) - 1;
      functions.push(index);
      bodies.push(body);
    } else {
      throw new Error(`unsupported module field (${String(kind)} ...)`);
    }
  }
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(3, vector(functions.map((index) => u32(index)))),
    ...section(5, vector(memories)),
    ...section(7, vector(exports)),
    ...section(10, vector(bodies.map((body) => [...u32(body.length), ...body]))),
  ]);
}

function assembleFunction(parts: SExpr[]): { type: number[]; body: number[] } {
  const names: string[] = [];
  const params: number[] = [];
  const results: number[] = [];
  const locals: number[] = [];
  const instructions: string[] = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      instructions.push(part);
      continue;
    }
    const [kind, ...rest] = part;
    if (kind === 'export') continue;
    if (kind !== 'param' && kind !== 'local' && kind !== 'result') throw new Error(`unsupported (${String(kind)} ...) in func`);
    const typeName = rest[rest.length - 1] as string;
    const type = VALUE_TYPES[typeName];
    if (type === undefined) throw new Error(`unknown type ${typeName}`);
    if (kind === 'result') results.push(type);
    else {
      if (rest.length === 2) names[params.length + locals.length] = rest[0] as string;
      (kind === 'param' ? params : locals).push(type);
    }
  }
  const localIndex = (token: string): number => (token.startsWith('$') ? names.indexOf(token) : Number(token));
  const labels: (string | undefined)[] = [];
  const code: number[] = [];
  for (let i = 0; i < instructions.length; i++) {
    const op = instructions[i]!;
    const next = (): string => {
      const immediate = instructions[++i];
      if (immediate === undefined) throw new Error(`${op} needs an immediate`);
      return immediate;
    };
    if (op === 'local.get' || op === 'local.set') {
      const index = localIndex(next());
      if (index < 0) throw new Error(`unknown local in ${op}`);
      code.push(op === 'local.get' ? 0x20 : 0x21, ...u32(index));
    } else if (op === 'i32.const') {
      code.push(0x41, ...s32(Number(next())));
    } else if (op === 'block' || op === 'loop') {
      labels.push(instructions[i + 1]?.startsWith('$') ? next() : undefined);
      code.push(op === 'block' ? 0x02 : 0x03, 0x40);
    } else if (op === 'end') {
      labels.pop();
      code.push(0x0b);
    } else if (op === 'br' || op === 'br_if') {
      const target = next();
      const depth = target.startsWith('$') ? labels.length - 1 - labels.lastIndexOf(target) : Number(target);
      if (depth < 0 || depth >= labels.length) throw new Error(`unknown label ${target}`);
      code.push(op === 'br' ? 0x0c : 0x0d, ...u32(depth));
    } else if (PLAIN[op] !== undefined) {
      code.push(...PLAIN[op]);
    } else if (MEMORY[op] !== undefined) {
      let offset = 0;
      let align = MEMORY[op].naturalAlign;
      for (let immediate = instructions[i + 1]; immediate !== undefined && /^(offset|align)=/.test(immediate); immediate = instructions[i + 1]) {
        const [key, value] = next().split('=') as [string, string];
        if (key === 'offset') offset = Number(value);
        else align = Math.log2(Number(value));
      }
      code.push(...MEMORY[op].opcode, ...u32(align), ...u32(offset));
    } else {
      throw new Error(`unsupported instruction ${op}`);
    }
  }
  if (labels.length > 0) throw new Error('a block or loop is not ended');
  // Locals as runs of one type (count, type), as the binary format stores them.
  const runs: number[][] = [];
  for (const type of locals) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === type) last[0]!++;
    else runs.push([1, type]);
  }
  const body = [...vector(runs.map(([count, type]) => [...u32(count!), type!])), ...code, 0x0b];
  return { type: [0x60, ...vector(params.map((type) => [type])), ...vector(results.map((type) => [type]))], body };
}

function exportNames(parts: SExpr[]): string[] {
  return parts.filter((part): part is SExpr[] => Array.isArray(part) && part[0] === 'export').map((part) => JSON.parse(part[1] as string) as string);
}

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s+|;;[^\n]*|\(;[\s\S]*?;\)|(\(|\)|"(?:[^"\\]|\\.)*"|[^\s()";]+)/g;
  for (const match of source.matchAll(pattern)) if (match[1] !== undefined) tokens.push(match[1]);
  return tokens;
}

function parse(tokens: string[]): SExpr {
  const stack: SExpr[][] = [[]];
  for (const token of tokens) {
    if (token === '(') stack.push([]);
    else if (token === ')') {
      const list = stack.pop()!;
      if (stack.length === 0) throw new Error('unbalanced )');
      stack[stack.length - 1]!.push(list);
    } else stack[stack.length - 1]!.push(token);
  }
  if (stack.length !== 1 || stack[0]!.length !== 1) throw new Error('expected one balanced (module ...)');
  return stack[0]![0]!;
}

/** A section, left out when it holds no items, as every assembler does. */
function section(id: number, content: number[]): number[] {
  if (content.length === 1 && content[0] === 0) return [];
  return [id, ...u32(content.length), ...content];
}

function vector(items: number[][]): number[] {
  return [...u32(items.length), ...items.flat()];
}

function encodeName(name: string): number[] {
  const bytes = [...new TextEncoder().encode(name)];
  return [...u32(bytes.length), ...bytes];
}

/** Unsigned LEB128. */
function u32(value: number): number[] {
  const out: number[] = [];
  do {
    const byte = value & 0x7f;
    value >>>= 7;
    out.push(value === 0 ? byte : byte | 0x80);
  } while (value !== 0);
  return out;
}

/** Signed LEB128. */
function s32(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
