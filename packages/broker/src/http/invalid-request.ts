import type { z } from 'zod';

/** The first problem zod found in a request part, for a 400 answer: `field: message` (`part` when the whole is wrong). */
export function describeInvalid(error: z.ZodError, part: string): string {
  const issue = error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? part : issue.path.join('.');
  return `${where}: ${issue?.message ?? 'invalid'}`;
}
