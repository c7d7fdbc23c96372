/**
 * The admin API as the page calls it: the token from sessionStorage in `Authorization: Bearer` (never in a
 * URL), JSON in and out. A 401 signs the page out, since the token no longer works.
 */
const tokenKey = 'switchboard.adminToken';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;

  constructor(status: number, code: string | undefined, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized: () => void = () => undefined;

export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export function storedToken(): string | undefined {
  return sessionStorage.getItem(tokenKey) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(tokenKey);
  else sessionStorage.setItem(tokenKey, token);
}

export async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token = storedToken()): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token ?? ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, cache: 'no-store', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const json = text === '' ? undefined : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const error = (json ?? {}) as { code?: string; message?: string };
    if (response.status === 401) onUnauthorized();
    throw new ApiError(response.status, error.code, error.message ?? `${method} ${path}: HTTP ${response.status}`);
  }
  return json as T;
}

export function query(params: Readonly<Record<string, string | number>>): string {
  return new URLSearchParams(Object.entries(params).map(([key, value]) => [key, String(value)])).toString();
}
