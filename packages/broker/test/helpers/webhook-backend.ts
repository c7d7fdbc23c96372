import { createHmac, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An application backend receiving webhooks on a loopback port: it records every POST and checks its
 * signature with its own HMAC code (not the broker's), as a backend in another language would. Tests choose
 * its answers: `failNext` 500s, or `hang` to never answer.
 */

export interface WebhookRequest {
  readonly body: string;
  readonly signature: string | undefined;
  readonly timestamp: number;
  /** The signature matched `timestamp + "." + body` under the test's secret. */
  readonly verified: boolean;
  /** 0: never answered (`hang`). */
  readonly status: number;
  readonly batch: { readonly batch: string; readonly node: string; readonly events: WebhookEventBody[] };
}

export interface WebhookEventBody {
  readonly id: string;
  readonly type: string;
  readonly time: number;
  readonly node: string;
  readonly topic?: string;
  readonly connectionId?: string;
  readonly user?: string;
  readonly code?: number;
  readonly reason?: string;
  readonly info?: unknown;
  readonly data?: unknown;
  readonly offset?: number;
  readonly epoch?: string;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The recipe of docs/operations.md "Verifying a webhook", written out independently of the broker. */
export function independentlyVerified(secret: string, header: string | undefined, body: string): { ok: boolean; timestamp: number } {
  const fields = Object.fromEntries((header ?? '').split(',').map((part) => part.split('=', 2) as [string, string]));
  const timestamp = Number(fields.t);
  const expected = createHmac('sha256', secret).update(`${fields.t}.${body}`).digest();
  const given = Buffer.from(fields.v1 ?? '', 'hex');
  return { ok: given.length === expected.length && timingSafeEqual(given, expected), timestamp };
}

export class WebhookBackend {
  readonly requests: WebhookRequest[] = [];
  /** Answer this many next requests with 500. */
  failNext = 0;
  /** Never answer (a dead or stuck backend). */
  hang = false;
  private readonly server: Server;
  private readonly secret: string;
  private readonly hanging = new Set<ServerResponse>();

  private constructor(server: Server, secret: string) {
    this.server = server;
    this.secret = secret;
  }

  static async start(t: Teardown, secret: string): Promise<WebhookBackend> {
    let backend: WebhookBackend | undefined;
    const server = createServer((request, response) => void backend?.receive(request, response));
    backend = new WebhookBackend(server, secret);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const started = backend;
    t.teardown(() => started.stop());
    return backend;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Events of the requests answered 200, in the order received. */
  get accepted(): WebhookEventBody[] {
    return this.requests.filter((request) => request.status === 200).flatMap((request) => request.batch.events);
  }

  acceptedOf(type: string): WebhookEventBody[] {
    return this.accepted.filter((event) => event.type === type);
  }

  stop(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async receive(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const signature = request.headers['switchboard-signature'] as string | undefined;
    const { ok, timestamp } = independentlyVerified(this.secret, signature, body);
    const batch = JSON.parse(body) as WebhookRequest['batch'];
    if (this.hang) {
      this.requests.push({ body, signature, timestamp, verified: ok, status: 0, batch });
      this.hanging.add(response);
      return;
    }
    const status = this.failNext > 0 ? 500 : 200;
    if (status === 500) this.failNext--;
    this.requests.push({ body, signature, timestamp, verified: ok, status, batch });
    response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'try later');
  }
}
