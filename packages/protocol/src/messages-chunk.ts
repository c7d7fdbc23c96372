import * as z from 'zod/mini';
import { ProtocolErrorCode } from './errors.js';
import { issueParams, nonNegativeIntegerField, positiveIntegerField, transferIdField } from './fields.js';
import { PAYLOAD_ENCODINGS } from './payload.js';

/**
 * The shape of a `chunk` header (protocol.md §7.2), for a given inner header schema: `publish` headers in
 * chunks from clients, `message` headers (or `presence` answers, protocol.md §13.2) in chunks from the server.
 */
export function chunkHeaderShape<Header extends z.ZodMiniType>(header: Header) {
  return {
    op: z.literal('chunk'),
    transfer: transferIdField,
    index: nonNegativeIntegerField,
    last: z.boolean(),
    /** First chunk only: the payload's total size in bytes. */
    total: z.exactOptional(positiveIntegerField),
    /** First chunk only: how to read the reassembled bytes. */
    encoding: z.exactOptional(z.enum(PAYLOAD_ENCODINGS)),
    /** First chunk only: the message's own header, without `data`. */
    header: z.exactOptional(header),
  };
}

/** `total`, `encoding` and `header` travel on the first chunk and on no other (protocol.md §7.2). */
export function checkFirstChunkFields(
  chunk: { index: number; total?: number; encoding?: string; header?: unknown },
  context: z.core.$RefinementCtx,
): void {
  const isFirst = chunk.index === 0;
  for (const field of ['total', 'encoding', 'header'] as const) {
    const present = chunk[field] !== undefined;
    if (isFirst && !present) {
      context.addIssue({ code: 'custom', path: [field], message: `the first chunk must carry ${field}`, params: issueParams(ProtocolErrorCode.badRequest) });
    } else if (!isFirst && present) {
      context.addIssue({ code: 'custom', path: [field], message: `only the first chunk carries ${field}`, params: issueParams(ProtocolErrorCode.badRequest) });
    }
  }
}
