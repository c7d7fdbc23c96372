import { parsePattern } from '@switchboard/protocol';
import { z } from 'zod';

/** Schemas several options share; their messages are part of the operator's error output. */

/** An integer in [min, max]; every failure says the whole range. */
export function intFrom(min: number, max = Number.MAX_SAFE_INTEGER) {
  const message = `must be an integer from ${min} to ${max}`;
  return z.number().int(message).min(min, message).max(max, message);
}

/** A subscription pattern in the topic grammar (protocol.md §4), with the grammar's own message. */
export const patternSchema = z.string().superRefine((value, context) => {
  const parsed = parsePattern(value);
  if (!parsed.ok) context.addIssue({ code: 'custom', message: parsed.error.message });
});

/** Visible ASCII only: names and tokens that end up in headers, logs and metric labels. */
export const visibleAscii = /^[!-~]+$/;

/**
 * A zod issue's message for the operator: for a map's bad key (a namespace prefix), the key's own rule
 * rather than zod's "Invalid key in record".
 */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message;
  return issue.message;
}
