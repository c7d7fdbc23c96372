import { hostname } from 'node:os';
import { z } from 'zod';
import { option } from './option.js';
import { intFrom, visibleAscii } from './option-schemas.js';

/** Where the node listens, what it calls itself, and how much it logs. */

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export const serverOptions = {
  host: option({
    env: 'HOST',
    flag: 'host',
    kind: 'string',
    schema: z.string().min(1),
    default: '127.0.0.1',
    help: 'interface to listen on; loopback by default so a dev broker is not exposed',
  }),
  port: option({ env: 'PORT', flag: 'port', kind: 'int', schema: intFrom(0, 65535), default: 8080, help: 'TCP port (0 picks a free one)' }),
  wsPath: option({
    env: 'WS_PATH',
    flag: 'ws-path',
    kind: 'string',
    schema: z.string().regex(/^\/[!-~]*$/, 'must be a path starting with /'),
    default: '/',
    help: 'path of the WebSocket endpoint',
  }),
  nodeName: option({
    env: 'NODE_NAME',
    flag: 'node-name',
    kind: 'string',
    schema: z.string().min(1).max(64).regex(visibleAscii, 'must be visible ASCII'),
    derive: defaultNodeName,
    help: "this node's name in welcome messages, logs and metrics; default: the host name",
  }),
  logLevel: option({
    env: 'LOG_LEVEL',
    flag: 'log-level',
    kind: 'string',
    schema: z.enum(logLevels),
    default: 'info',
    help: `pino level: ${logLevels.join(', ')}`,
  }),
};

/** The host name cut to what a node name may hold; containers usually name themselves uniquely. */
function defaultNodeName(): string {
  const name = hostname().replace(/[^!-~]/g, '').slice(0, 64);
  return name === '' ? 'switchboard' : name;
}
