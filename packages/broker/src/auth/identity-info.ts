/**
 * A connection's presence info (protocol.md §14.1): any JSON value from the JWT claim `info` or the auth hook's
 * `identity.info`, carried as JSON text in every listing and join. Bounded by `PRESENCE_MAX_INFO_BYTES` and
 * never truncated: an identity whose info is larger is refused at the handshake.
 */
export type InfoText = { readonly ok: true; readonly json: string | undefined } | { readonly ok: false; readonly message: string };

/** `info` as JSON text (undefined: none), or why it cannot be carried. */
export function infoText(info: unknown, maxBytes: number): InfoText {
  if (info === undefined) return { ok: true, json: undefined };
  let json: string | undefined;
  try {
    json = JSON.stringify(info);
  } catch {
    json = undefined;
  }
  // A function or a symbol stringifies to nothing; a cycle or a BigInt throws: neither is JSON.
  if (json === undefined) return { ok: false, message: 'info must be a JSON value' };
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) return { ok: false, message: `info is ${bytes} bytes of JSON, over PRESENCE_MAX_INFO_BYTES (${maxBytes})` };
  return { ok: true, json };
}
