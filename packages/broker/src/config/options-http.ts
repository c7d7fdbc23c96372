import { option } from './option.js';
import { intFrom } from './option-schemas.js';
import { MiB } from './option-text.js';

/** How the HTTP API pushes back: when POST /publish answers 429, and when clients should come back. */

export const httpOptions = {
  httpPublishSaturationBytes: option({
    env: 'HTTP_PUBLISH_SATURATION',
    flag: 'http-publish-saturation',
    kind: 'bytes',
    schema: intFrom(1),
    /** 64 fully backed-up connections' worth at the default cap: beyond it, backends must slow down. */
    default: 64 * MiB,
    help: 'POST /publish answers 429 while all connections together have this many bytes queued',
  }),
  httpRetryAfterSeconds: option({
    env: 'HTTP_RETRY_AFTER',
    flag: 'http-retry-after',
    kind: 'int',
    schema: intFrom(1, 3600),
    default: 1,
    help: 'Retry-After of 429 and 503 answers, in seconds',
  }),
};
