/** Remote procedure calls (protocol.md §15): `rpc` requests and their `rpc_result` or `error` answers. */
import type { ErrorMessage, JsonValue, ProtocolErrorCode, RpcResultMessage } from '@switchboard/protocol';
import type { ClientContext } from './client-context.js';
import type { TimerHandle } from './clock.js';
import { ClientErrorCode, SwitchboardError, type SwitchboardErrorDetails } from './errors.js';

/**
 * The backend's methods, by name: what each takes and answers (`client.rpc`'s types), e.g.
 * `interface Methods { 'cart.add': { data: { sku: string }; result: { items: number } } }` (an interface
 * or a type alias).
 */
export type RpcMap = object;

/** What a method of an `RpcMap` takes: its `data` entry (`unknown` when the map does not say). */
export type RpcData<Method> = Method extends {
  /** The argument `client.rpc` sends. */
  readonly data: infer Data;
}
  ? Data
  : unknown;
/** What a method of an `RpcMap` answers: its `result` entry (`unknown` when the map does not say). */
export type RpcResult<Method> = Method extends {
  /** What the backend answers, as `client.rpc` resolves it. */
  readonly result: infer Result;
}
  ? Result
  : unknown;

/** Any method, any JSON in and out: the default when no map is given. */
export type UntypedRpc = {
  readonly [method: string]: {
    /** Any JSON value the backend accepts. */
    readonly data: unknown;
    /** Any JSON value the backend answers. */
    readonly result: unknown;
  };
};

/** How one `client.rpc` call waits. */
export interface RpcOptions {
  /** How long to wait for the answer. @default 10000 */
  readonly timeoutMs?: number;
  /** Aborting gives up waiting (`aborted`); the backend may still run the call. */
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly method: string;
  readonly timer: TimerHandle;
  resolve(data: unknown): void;
  reject(error: SwitchboardError): void;
}

const defaultTimeoutMs = 10_000;

/**
 * Calls on the current connection, by request id. They need a welcomed connection whose broker announced
 * `rpc`; a call is never resent (the backend may have run it): when the connection ends first it rejects
 * with `connection_lost`, when no answer comes in time with `timeout`.
 */
export class RpcRequests {
  readonly #context: ClientContext;
  readonly #pending = new Map<number, Pending>();

  constructor(context: ClientContext) {
    this.#context = context;
  }

  call(method: string, data: unknown, options: RpcOptions = {}): Promise<unknown> {
    const context = this.#context;
    const connection = context.connection;
    if (connection?.welcome === undefined) return Promise.reject(new SwitchboardError(ClientErrorCode.connectionLost, `rpc ${method}: not connected`));
    const unsupported = context.unsupported('rpc', `rpc ${method}`);
    if (unsupported !== undefined) return Promise.reject(unsupported);
    if (options.signal?.aborted === true) return Promise.reject(new SwitchboardError(ClientErrorCode.aborted, `rpc ${method}: aborted`));
    let text: string | undefined;
    try {
      text = JSON.stringify(data ?? null);
    } catch {
      text = undefined;
    }
    if (text === undefined) return Promise.reject(new SwitchboardError(ClientErrorCode.invalidPayload, `rpc ${method}: data must be a JSON value`));
    return new Promise((resolve, reject) => {
      const id = context.nextRequestId();
      const settle = (): boolean => {
        const pending = this.#pending.get(id);
        if (pending === undefined) return false;
        this.#pending.delete(id);
        context.clock.clearTimeout(pending.timer);
        options.signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = (): void => {
        if (settle()) reject(new SwitchboardError(ClientErrorCode.aborted, `rpc ${method}: aborted`));
      };
      const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
      const timer = context.clock.setTimeout(() => {
        if (settle()) reject(new SwitchboardError(ClientErrorCode.timeout, `rpc ${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        method,
        timer,
        resolve: (answer) => settle() && resolve(answer),
        reject: (error) => settle() && reject(error),
      });
      options.signal?.addEventListener('abort', onAbort, { once: true });
      connection.send({ op: 'rpc', id, method, data: JSON.parse(text) as JsonValue });
    });
  }

  receive(message: RpcResultMessage): void {
    this.#pending.get(message.id)?.resolve(message.data ?? null);
  }

  /** The broker (or the backend) refused a call; false when the id is not ours. */
  refused(id: number, message: Pick<ErrorMessage, 'code' | 'message'>, details: SwitchboardErrorDetails = {}): boolean {
    const pending = this.#pending.get(id);
    if (pending === undefined) return false;
    pending.reject(new SwitchboardError(message.code as ProtocolErrorCode, `rpc ${pending.method}: ${message.message}`, details));
    return true;
  }

  /** The connection ended: every open call rejects (it may or may not have run), with `final` when the client stopped. */
  connectionLost(final: SwitchboardError | undefined): void {
    for (const pending of [...this.#pending.values()]) {
      pending.reject(final ?? new SwitchboardError(ClientErrorCode.connectionLost, `rpc ${pending.method}: the connection ended before the answer arrived`));
    }
  }
}
