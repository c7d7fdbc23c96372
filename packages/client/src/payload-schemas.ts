/** Run-time validation of payloads by the schemas declared per topic pattern (Standard Schema). */
import { parsePattern, segmentsMatch } from '@switchboard/protocol';
import { SwitchboardError } from './errors.js';
import type { PayloadSchema } from './topic-map.js';

export type PayloadSchemas = ReadonlyArray<{ readonly segments: readonly string[]; readonly schema: PayloadSchema }>;

export type Validation = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: string };

/**
 * Parses the patterns of the `schemas` option, in declaration order.
 * @throws SwitchboardError `invalid_topic` for a pattern that breaks the topic rules.
 */
export function compileSchemas(schemas: Readonly<Record<string, PayloadSchema | undefined>> | undefined): PayloadSchemas {
  const compiled: Array<{ segments: readonly string[]; schema: PayloadSchema }> = [];
  for (const [pattern, schema] of Object.entries(schemas ?? {})) {
    if (schema === undefined) continue;
    const parsed = parsePattern(pattern);
    if (!parsed.ok) throw new SwitchboardError(parsed.error.code, `schemas: ${parsed.error.message}`, { topic: pattern });
    compiled.push({ segments: parsed.value.segments, schema });
  }
  return compiled;
}

/** Runs every schema whose pattern matches the topic, in declaration order; each gets the previous output. */
export function validatePayload(schemas: PayloadSchemas, segments: readonly string[], data: unknown): Validation {
  let value = data;
  for (const entry of schemas) {
    if (!segmentsMatch(entry.segments, segments)) continue;
    const result = entry.schema['~standard'].validate(value);
    if (result instanceof Promise) return { ok: false, problem: 'asynchronous schemas are not supported' };
    if (result.issues !== undefined) {
      const issue = result.issues[0];
      const path = issue?.path?.map((part) => (typeof part === 'object' ? String(part.key) : String(part))).join('.');
      return { ok: false, problem: `payload does not match its schema${path === undefined || path === '' ? '' : ` at ${path}`}: ${issue?.message ?? 'invalid'}` };
    }
    value = result.value;
  }
  return { ok: true, value };
}
