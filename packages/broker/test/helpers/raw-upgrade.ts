import { request } from 'node:http';
import type { Duplex } from 'node:stream';

export interface UpgradeAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The response body, parsed as JSON when it is JSON. */
  readonly body: unknown;
  /** The upgraded socket when the status is 101 (the caller destroys it). */
  readonly socket?: Duplex;
}

/**
 * Sends a WebSocket upgrade request with exactly these headers (plus a valid key and version unless
 * given) and reports the raw HTTP answer: what a browser cannot show, status and JSON body.
 */
export function rawUpgrade(port: number, headers: Record<string, string> = {}, path = '/'): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
      timeout: 10_000,
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
      });
    });
    req.on('upgrade', (response, socket) => {
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: undefined, socket });
    });
    req.end();
  });
}
