import { signWebhook } from './webhook-signature.js';

/** How a POST of a batch ended (`switchboard_webhook_requests_total{outcome}`). */
export type PostOutcome = 'ok' | 'status_4xx' | 'status_5xx' | 'timeout' | 'network';

export interface PostTarget {
  readonly url: string;
  readonly secret: string;
  readonly timeoutMs: number;
}

/** The body of a batch: its id, the node, and the events' JSON text as they were built. */
export function batchBody(batchId: string, node: string, eventsJson: readonly string[]): string {
  return `{"batch":${JSON.stringify(batchId)},"node":${JSON.stringify(node)},"events":[${eventsJson.join(',')}]}`;
}

/**
 * POSTs one batch, signed with a fresh timestamp (docs/operations.md "Verifying a webhook"). Never throws;
 * `abort` (the node closing) ends it early as `timeout`.
 */
export async function postBatch(target: PostTarget, batchId: string, body: string, abort: AbortSignal): Promise<PostOutcome> {
  // A timer of our own, not AbortSignal.timeout(): inside AbortSignal.any() that signal is held only weakly,
  // and once garbage-collected it never fires, so a POST to a backend that never answers hung forever
  // (found by `pnpm bench webhooks`; Node 20, nodejs/node#55428).
  const expiry = new AbortController();
  const timer = setTimeout(() => expiry.abort(), target.timeoutMs);
  const timeout = AbortSignal.any([abort, expiry.signal]);
  try {
    const response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'switchboard-webhooks',
        'switchboard-signature': signWebhook(target.secret, Math.floor(Date.now() / 1000), body),
        'switchboard-batch': batchId,
      },
      body,
      signal: timeout,
    });
    // Read to the end, so the connection goes back to the pool.
    await response.arrayBuffer();
    if (response.ok) return 'ok';
    return response.status >= 500 ? 'status_5xx' : 'status_4xx';
  } catch {
    return timeout.aborted ? 'timeout' : 'network';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The delay before attempt `attempts + 1`: `minMs` doubled per failed attempt up to `maxMs`, drawn from its
 * upper half ("equal jitter"), so the nodes of a cluster spread their retries while none hammers a
 * recovering backend.
 */
export function retryDelay(attempts: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempts - 1, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}
