import { type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters, createLocalJWKSet, errors } from 'jose';

/**
 * A JSON Web Key Set fetched from the token issuer (RFC 7517 §5), cached. jose picks the key for a token
 * (`createLocalJWKSet`: by `kid`, `alg`, key type and curve, public keys only); this class decides when to
 * fetch, because jose's `createRemoteJWKSet` fails every verification once its cache is older than its
 * maximum age and the server is down, and retries a failing server on every token. Here:
 *
 * - the first token fetches the set; a set older than `maxAgeMs` is fetched again in the background while
 *   it keeps serving;
 * - a token naming a `kid` the set does not hold triggers a fetch (key rotation without a restart), then is
 *   looked up once more;
 * - every fetch, successful or not, starts at most once per `refreshIntervalMs` (concurrent callers share
 *   the one in flight), so a flood of tokens with made-up `kid`s costs the JWKS server one request per
 *   interval;
 * - a failed fetch keeps the last good set: while the JWKS server is down, the keys it last served verify.
 */

/** Where the cache reports fetch failures; a pino logger fits. */
export interface AuthLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface JwksCacheOptions {
  readonly url: URL;
  /** Least time between two fetches, in ms. */
  readonly refreshIntervalMs: number;
  /** A set older than this (ms) is fetched again, in the background. */
  readonly maxAgeMs: number;
  /** A fetch that takes longer (ms) fails. */
  readonly timeoutMs: number;
  /** Current time in ms since the Unix epoch: the intervals above are measured with it. */
  readonly now: () => number;
  readonly logger?: AuthLogger | undefined;
}

/** The key set could not be fetched, and no key in hand can decide: try again later (`unavailable`). */
export class KeySetUnavailable extends Error {
  override readonly name = 'KeySetUnavailable';
}

/** Finds the key that verifies a token. */
export interface JwtKeySet {
  /**
   * The public key for a token with this header. Rejects with jose's `JWKSNoMatchingKey` (no key for its
   * `kid` and `alg`) or `JWKSMultipleMatchingKeys` (no `kid`, several candidates), or with
   * {@link KeySetUnavailable}.
   */
  keyFor(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>;
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

export class JwksCache implements JwtKeySet {
  private readonly options: JwksCacheOptions;
  private keys: LocalKeySet | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private lastAttemptFailed = false;
  private pending: Promise<void> | undefined;
  private fetchCount = 0;

  constructor(options: JwksCacheOptions) {
    this.options = options;
  }

  /** Fetches started so far, successful or not. */
  get fetches(): number {
    return this.fetchCount;
  }

  async keyFor(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    if (this.keys === undefined) await this.refresh();
    else if (this.options.now() - this.fetchedAt >= this.options.maxAgeMs) void this.refresh();
    const keys = this.keys;
    if (keys === undefined) throw new KeySetUnavailable(`the JWKS at ${this.shownUrl()} could not be fetched yet`);
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      await this.refresh();
      const fetched = this.keys;
      if (fetched !== undefined && fetched !== keys) return fetched(header, token);
      // The lookup failed because the set could not be fetched, not because the key is unknown to the issuer.
      if (this.lastAttemptFailed) throw new KeySetUnavailable(`no key for this token, and the JWKS at ${this.shownUrl()} cannot be fetched`);
      throw error;
    }
  }

  /**
   * Fetches the set, unless a fetch is in flight (then waits for that one) or the last one started less than
   * `refreshIntervalMs` ago (then does nothing). Never rejects: a failure is logged and the set in hand stays.
   */
  refresh(): Promise<void> {
    if (this.pending !== undefined) return this.pending;
    const now = this.options.now();
    if (now - this.attemptedAt < this.options.refreshIntervalMs) return Promise.resolve();
    this.attemptedAt = now;
    this.fetchCount++;
    const pending = this.fetchKeySet().then(
      (keys) => {
        this.keys = keys;
        this.fetchedAt = this.options.now();
        this.lastAttemptFailed = false;
      },
      (error: unknown) => {
        this.lastAttemptFailed = true;
        this.options.logger?.warn(
          { err: error, url: this.shownUrl(), keptKeys: this.keys !== undefined },
          'JWKS fetch failed; the last good key set (if any) stays in use',
        );
      },
    );
    this.pending = pending.finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** GET the set: 200 with a JSON Web Key Set, within the timeout, no redirects (the URL is the trust anchor). */
  private async fetchKeySet(): Promise<LocalKeySet> {
    const response = await fetch(this.options.url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(this.options.timeoutMs),
      headers: { accept: 'application/jwk-set+json, application/json' },
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`the JWKS server answered ${response.status}`);
    }
    // jose checks the shape (JWKSInvalid); each key is checked to be public when it is first used.
    return createLocalJWKSet((await response.json()) as JSONWebKeySet);
  }

  /** The URL as logs and messages show it: no query, which is where a key set URL might carry a credential. */
  private shownUrl(): string {
    const { origin, pathname } = this.options.url;
    return `${origin}${pathname}`;
  }
}
