import * as z from 'zod/mini';
import { payloadField, requestIdField, visibleAsciiField } from './fields.js';

/**
 * Remote procedure calls (protocol.md §15): a client asks the application's backend, through the server,
 * over the open connection. Announced by the `rpc` capability; text form only, JSON `data`.
 */

/** Longest `method` name: a name, not data. */
export const MAX_RPC_METHOD_LENGTH = 128;

/** Client → server: call `method` with `data` (any JSON value; absent: null). */
export const rpcSchema = z.object({
  op: z.literal('rpc'),
  id: requestIdField,
  method: visibleAsciiField(MAX_RPC_METHOD_LENGTH),
  data: z.exactOptional(payloadField),
});
export type RpcMessage = z.output<typeof rpcSchema>;

/** Server → client: the backend's answer to the `rpc` with this `id` (a refusal is an `error` with the id). */
export const rpcResultSchema = z.object({ op: z.literal('rpc_result'), id: requestIdField, data: z.exactOptional(payloadField) });
export type RpcResultMessage = z.output<typeof rpcResultSchema>;
