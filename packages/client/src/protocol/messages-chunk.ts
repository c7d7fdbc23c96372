import { z } from 'zod';
import { ProtocolErrorCode } from './errors.js';
import { issueParams, positiveIntegerField, transferIdField } from './fields.js';
import { PAYLOAD_ENCODINGS } from './payload.js';

/**
 * The shape of a `chunk` header (protocol.md §7.2), for a given inner header schema: `publish` headers in
 * chunks from clients, `message` headers in chunks from the server.
 */
export function chunkHeaderShape<Header extends z.ZodType>(header: Header) {
  return {
    op: z.literal('chunk'),
    transfer: transferIdField,
    index: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    last: z.boolean(),
    /** First chunk only: the payload's total size in bytes. */
    total: positiveIntegerField.exactOptional(),
    /** First chunk only: how to read the reassembled bytes. */
    encoding: z.enum(PAYLOAD_ENCODINGS).exactOptional(),
    /** First chunk only: the message's own header, without `data`. */
    header: header.exactOptional(),
  };
}

/** `total`, `encoding` and `header` travel on the first chunk and on no other (protocol.md §7.2). */
export function checkFirstChunkFields(
  chunk: { index: number; total?: number; encoding?: string; header?: unknown },
  context: z.RefinementCtx,
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
