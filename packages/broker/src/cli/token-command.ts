import { type KeyObject, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { parsePattern } from '@switchboard/protocol';
import { infoText } from '../auth/identity-info.js';
import { signJwt } from '../auth/jwt.js';
import { algorithmsForPublicKey, readPublicKey } from '../auth/jwt-public-key.js';
import { ConfigError } from '../config/config-error.js';
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../config/jwt-algorithms.js';
import { loadConfig } from '../config/load-config.js';
import { readText } from '../config/option-text.js';
import { type CommandIo, UsageError } from './command-io.js';

export const tokenUsage = `Usage: switchboard token --sub USER --grant PATTERN ... [--info JSON] [--subs PATTERN ...] [--ttl 1h] [--private-key FILE] [--kid KID] [--config FILE] [options]

Mints a development token the broker configured the same way accepts, and prints it. It is signed with
JWT_SECRET (HS256, or the first HS* of JWT_ALGORITHMS), or with --private-key (or $JWT_PRIVATE_KEY), a PEM
private key whose public half is JWT_PUBLIC_KEY; iss and aud are JWT_ISSUER and JWT_AUDIENCE when set. The
broker's configuration is read as the broker reads it: --config FILE, the environment, the broker's flags.

  --sub USER         the token's subject
  --grant PATTERN    may publish to and subscribe to PATTERN; publish:PATTERN or subscribe:PATTERN for one
                     of the two; repeat for more
  --info JSON        the connection's presence info (claim info): any JSON value of at most
                     PRESENCE_MAX_INFO_BYTES bytes, e.g. '{"name":"Ana"}'
  --subs PATTERN     a server-side subscription (claim subs): the connection is subscribed to PATTERN at
                     connect time, no grant needed; repeat for more (at most MAX_SUBSCRIPTIONS)
  --ttl DURATION     lifetime (30s, 15m, 1h; default 1h)
  --private-key PEM  a PEM private key (RSA, P-256, P-384, Ed25519) or the path of one
  --kid KID          the key id to put in the header (a JWKS names keys by it)`;

const tokenOptions: NonNullable<ParseArgsConfig['options']> = {
  sub: { type: 'string' },
  grant: { type: 'string', multiple: true, default: [] },
  info: { type: 'string' },
  subs: { type: 'string', multiple: true, default: [] },
  ttl: { type: 'string', default: '1h' },
  'private-key': { type: 'string' },
  kid: { type: 'string' },
};

/** `switchboard token`: the claims the broker's verifier reads (auth/jwt.ts), signed with the configured key. */
export async function tokenCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, tokens } = parseArgs({ args: [...argv], options: tokenOptions, strict: false, tokens: true });
  // The token's own flags are taken here; every other argument is the broker's (--config, --jwt-secret ...).
  const brokerArgs = (tokens ?? []).flatMap((token) => {
    if (token.kind === 'positional') return [token.value];
    if (token.kind !== 'option' || Object.hasOwn(tokenOptions, token.name)) return [];
    return token.value === undefined ? [token.rawName] : [token.rawName, token.value];
  });
  const subject = values.sub;
  if (typeof subject !== 'string' || subject === '') throw new UsageError('token needs --sub USER');
  const grants = grantsOf(values.grant as string[]);
  const ttl = readText('duration', String(values.ttl));
  if (!ttl.ok || typeof ttl.value !== 'number' || ttl.value <= 0) throw new UsageError(`--ttl ${String(values.ttl)}: expected a duration such as 30s, 15m or 1h`);

  const config = loadConfig({ argv: brokerArgs, env: io.env });
  // Checked as the broker checks them at the handshake, so a token that mints is a token the broker takes.
  const info = infoClaim(values.info as string | undefined, config.presenceMaxInfoBytes);
  const subs = subsClaim(values.subs as string[], config.maxSubscriptions);
  const privateKeyText = (values['private-key'] as string | undefined) ?? io.env['JWT_PRIVATE_KEY'];
  const signing = privateKeyText === undefined ? secretSigning(config.jwtSecret, config.jwtAlgorithms) : keySigning(privateKeyText, config.jwtPublicKey, config.jwtAlgorithms);
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: subject,
    ...grants,
    ...(info === undefined ? {} : { info }),
    ...(subs.length === 0 ? {} : { subs }),
    ...(config.jwtIssuer === undefined ? {} : { iss: config.jwtIssuer }),
    ...(config.jwtAudience === undefined ? {} : { aud: config.jwtAudience }),
    iat: now,
    exp: now + Math.ceil(ttl.value / 1000),
  };
  const kid = values.kid as string | undefined;
  const token = await signJwt(claims, signing.key, { alg: signing.alg, ...(kid === undefined ? {} : { kid }) });
  io.stdout.write(`${token}\n`);
  return 0;
}

/** `PATTERN` grants both; `publish:PATTERN` and `subscribe:PATTERN` one. Patterns are checked by the broker. */
function grantsOf(grants: readonly string[]): { publish: string[]; subscribe: string[] } {
  if (grants.length === 0) throw new UsageError('token needs at least one --grant PATTERN (`>` grants everything)');
  const publish: string[] = [];
  const subscribe: string[] = [];
  for (const grant of grants) {
    const match = /^(publish|subscribe):(.+)$/.exec(grant);
    if (match?.[1] !== 'subscribe') publish.push(match?.[2] ?? grant);
    if (match?.[1] !== 'publish') subscribe.push(match?.[2] ?? grant);
  }
  return { publish, subscribe };
}

/** `--info JSON`: the value, refused unless it is JSON within PRESENCE_MAX_INFO_BYTES. */
function infoClaim(text: string | undefined, maxBytes: number): unknown {
  if (text === undefined) return undefined;
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--info is not JSON (${(error as Error).message}); quote a string: --info '"Ana"'`);
  }
  const checked = infoText(info, maxBytes);
  if (!checked.ok) throw new UsageError(`--info: ${checked.message}; the broker would refuse the token`);
  return info;
}

/** `--subs PATTERN`s: topic patterns, at most MAX_SUBSCRIPTIONS of them, as the broker reads the claim. */
function subsClaim(patterns: readonly string[], maxSubscriptions: number): readonly string[] {
  for (const pattern of patterns) {
    const parsed = parsePattern(pattern);
    if (!parsed.ok) throw new UsageError(`--subs ${pattern}: ${parsed.error.message}`);
  }
  if (patterns.length > maxSubscriptions) {
    throw new UsageError(`--subs names ${patterns.length} patterns; MAX_SUBSCRIPTIONS is ${maxSubscriptions}: the broker would refuse the token`);
  }
  return patterns;
}

interface Signing {
  readonly key: string | KeyObject;
  readonly alg: JwtAlgorithm;
}

function secretSigning(secret: string | undefined, algorithms: readonly JwtAlgorithm[] | undefined): Signing {
  if (secret === undefined) {
    throw new UsageError('no key to sign with: set JWT_SECRET (or --jwt-secret, or jwtSecret in --config FILE), or give --private-key');
  }
  const alg = (algorithms ?? ['HS256']).find((name) => JWT_ALGORITHMS[name].key === 'secret');
  if (alg === undefined) throw new UsageError(`JWT_ALGORITHMS (${algorithms?.join(',')}) accepts no HS* token: give --private-key`);
  return { key: secret, alg };
}

function keySigning(text: string, configuredPublicKey: string | undefined, algorithms: readonly JwtAlgorithm[] | undefined): Signing {
  let key: KeyObject;
  try {
    key = createPrivateKey(text.trimStart().startsWith('-----BEGIN') ? text : readFileSync(text, 'utf8'));
  } catch (error) {
    // Never quoted: the value may be key material.
    throw new UsageError(`--private-key is neither a PEM private key nor the path of one (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  const publicKey = createPublicKey(key);
  if (configuredPublicKey !== undefined) {
    const der = (candidate: KeyObject): Buffer => candidate.export({ type: 'spki', format: 'der' });
    if (!der(readPublicKey(configuredPublicKey)).equals(der(publicKey))) {
      throw new ConfigError('JWT_PUBLIC_KEY (--jwt-public-key)', 'is not the public half of --private-key: the broker would refuse the token');
    }
  }
  const usable = algorithmsForPublicKey(publicKey);
  const alg = (algorithms ?? usable).find((name) => usable.includes(name));
  if (alg === undefined) throw new UsageError(`no accepted algorithm signs with this key (${usable.join(', ') || 'unsupported key type'})`);
  return { key, alg };
}
