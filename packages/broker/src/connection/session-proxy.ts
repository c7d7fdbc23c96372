import { ProtocolCloseCode, ProtocolErrorCode, type RpcMessage } from '@switchboard/protocol';
import type { NamespaceSettings } from '../config/namespace-resolver.js';
import { payloadTooBig } from '../config/namespace-resolver.js';
import type { Payload } from '../engine/engine.js';
import type { ProxyRequester } from '../proxy/backend-proxy.js';
import type { SessionScope } from './session-context.js';
import type { RequestAddress } from './session-errors.js';

/**
 * A session's questions to the application's backend (protocol.md "Backend proxy"): whether a subscribe or
 * a publish may happen, with which payload, and whether an expiring session goes on. Each answers the
 * client itself when the answer is no (the backend's code, or `unavailable` when it gave none).
 */

export function requesterOf(session: SessionScope): ProxyRequester {
  return { connectionId: session.connectionId, user: session.presenceMember.user, headers: session.headers, remoteAddress: session.remoteAddress };
}

/** Whether the backend at `url` allows the subscribe; when not, the client has its error. */
export async function backendAllowsSubscribe(session: SessionScope, url: string, id: number, pattern: string): Promise<boolean> {
  const proxy = session.context.proxy;
  if (proxy === undefined) return false;
  const decision = await proxy.subscribe(url, requesterOf(session), pattern);
  if (!session.isOpen) return false;
  if ('allow' in decision) return true;
  const refused = 'refusal' in decision ? { code: decision.refusal.code, message: decision.refusal.reason } : unavailable(session, decision.unavailable);
  session.outbound.sendError({ id, ...refused });
  return false;
}

/**
 * The payload the backend at `url` lets through for `topic`: `payload` itself, or its replacement; undefined
 * when refused (the client has its error). A replacement must fit the namespace's size limit too.
 */
export async function backendPublishPayload(
  session: SessionScope,
  url: string,
  topic: string,
  payload: Payload,
  address: RequestAddress,
  namespace: NamespaceSettings,
): Promise<Payload | undefined> {
  const proxy = session.context.proxy;
  if (proxy === undefined) return undefined;
  const sent = payload.encoding === 'binary' ? { dataBase64: Buffer.from(payload.bytes).toString('base64') } : { data: JSON.parse(payload.text) as unknown };
  const decision = await proxy.publish(url, requesterOf(session), topic, sent);
  if (!session.isOpen) return undefined;
  if ('unavailable' in decision) {
    session.outbound.sendError({ ...address, ...unavailable(session, decision.unavailable) });
    return undefined;
  }
  if ('refusal' in decision) {
    session.outbound.sendError({ ...address, code: decision.refusal.code, message: decision.refusal.reason });
    return undefined;
  }
  const replaced: Payload | undefined =
    decision.dataBase64 !== undefined
      ? { encoding: 'binary', bytes: Buffer.from(decision.dataBase64, 'base64') }
      : 'data' in decision
        ? { encoding: 'json', text: JSON.stringify(decision.data) }
        : undefined;
  if (replaced === undefined) return payload;
  const size = replaced.encoding === 'binary' ? replaced.bytes.length : Buffer.byteLength(replaced.text, 'utf8');
  if (size > namespace.maxMessageBytes) {
    session.logger.warn({ topic, size }, 'backend replaced a publish payload with one over the size limit');
    session.outbound.sendError({ ...address, code: ProtocolErrorCode.messageTooBig, message: `the backend's replacement: ${payloadTooBig(size, namespace)}` });
    return undefined;
  }
  return replaced;
}

/**
 * A session at its expiry asks the backend to extend it: the new expiry (ms since the Unix epoch), or
 * undefined when the backend refused and the connection was closed as expired (4102). A backend that gives no
 * answer does not end a session: the expiry is tried again after `retryMs`.
 */
export async function backendExtendsSession(session: SessionScope, retryMs: number): Promise<number | undefined> {
  const proxy = session.context.proxy;
  if (proxy === undefined) return undefined;
  const answer = await proxy.refresh(requesterOf(session));
  if (!session.isOpen) return undefined;
  if ('expiresAt' in answer) return answer.expiresAt;
  if ('refused' in answer) {
    session.close(ProtocolCloseCode.tokenExpired, answer.refused.slice(0, 120));
    return undefined;
  }
  session.logger.warn({ reason: answer.unavailable }, 'refresh proxy gave no answer: the session is tried again');
  return session.context.now() + retryMs;
}

/**
 * Answers `rpc` (protocol.md §15) with the backend's `rpc_result`, or an `error` with the backend's code
 * (`unavailable` when it gave no answer in PROXY_TIMEOUT). Calls are answered in order, one at a time.
 */
export async function answerRpc(session: SessionScope, message: RpcMessage): Promise<void> {
  const { id, method } = message;
  const proxy = session.context.proxy;
  if (proxy?.servesRpc !== true) {
    session.outbound.sendError({ id, code: ProtocolErrorCode.badRequest, message: 'rpc is not served here (no rpc capability)' });
    return;
  }
  if (message.data instanceof Uint8Array) {
    session.outbound.sendError({ id, code: ProtocolErrorCode.badRequest, message: 'rpc data must be JSON' });
    return;
  }
  const decision = await proxy.rpc(requesterOf(session), method, message.data ?? null);
  if (!session.isOpen) return;
  if ('unavailable' in decision) session.outbound.sendError({ id, ...unavailable(session, decision.unavailable) });
  else if ('refusal' in decision) session.outbound.sendError({ id, code: decision.refusal.code, message: decision.refusal.reason });
  else session.outbound.sendControl({ op: 'rpc_result', id, data: decision.data as RpcResultData });
}

type RpcResultData = Exclude<RpcMessage['data'], undefined | Uint8Array>;

function unavailable(session: SessionScope, why: string): { code: typeof ProtocolErrorCode.unavailable; message: string; retryAfterMs: number } {
  return { code: ProtocolErrorCode.unavailable, message: why, retryAfterMs: session.config.httpRetryAfterSeconds * 1000 };
}
