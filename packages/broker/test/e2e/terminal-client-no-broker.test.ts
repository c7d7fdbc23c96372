import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, importSPKI, jwtVerify } from 'jose';
import t from 'tap';
import { runSwitchboard } from '../helpers/switchboard-process.js';
import { freePort } from '../helpers/topology-processes.js';
import { runCommand as run, stopAtEnd, until } from '../helpers/terminal-commands.js';

/** The terminal client without a broker: `token` with a private key, usage mistakes, a broker that is down. */

// A dozen processes, each starting through tsx, on a machine that may be busy running other tests.
t.setTimeout(300_000);

t.test('token signs with a private key whose public half the broker is configured with', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-token-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'private.pem'), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(join(dir, 'public.pem'), publicPem);
  writeFileSync(join(dir, 'other.pem'), other.publicKey.export({ type: 'spki', format: 'pem' }));

  const env = { JWT_PUBLIC_KEY: join(dir, 'public.pem'), JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'switchboard' };
  const minted = await run(['token', '--sub', 'bo', '--grant', 'subscribe:feed.>', '--private-key', join(dir, 'private.pem'), '--kid', 'k1'], env);
  t.equal(minted.code, 0, minted.stderr);
  const { payload, protectedHeader } = await jwtVerify(minted.stdout.trim(), await importSPKI(publicPem, 'ES256'), {
    issuer: 'https://issuer.test',
    audience: 'switchboard',
  });
  t.match(protectedHeader, { alg: 'ES256', kid: 'k1' });
  t.match(payload, { sub: 'bo', publish: [], subscribe: ['feed.>'] });

  const mismatched = await run(['token', '--sub', 'bo', '--grant', '>', '--private-key', join(dir, 'private.pem')], { JWT_PUBLIC_KEY: join(dir, 'other.pem') });
  t.equal(mismatched.code, 2, 'a private key that is not the configured public key\'s is refused');
  t.match(mismatched.stderr, /JWT_PUBLIC_KEY.*not the public half/);
  t.equal(mismatched.stdout, '');

  const keyless = await run(['token', '--sub', 'bo', '--grant', '>'], { JWT_SECRET: '' });
  t.equal(keyless.code, 2);
  t.match(keyless.stderr, /no key to sign with/);
});

t.test('token refuses --info that is not JSON or too large, and --subs that are not patterns or too many (exit 2)', async (t) => {
  const env = { JWT_SECRET: 'terminal-client-secret-at-least-32-bytes', PRESENCE_MAX_INFO_BYTES: '16', MAX_SUBSCRIPTIONS: '2' };
  const mint = (extra: string[]) => run(['token', '--sub', 'bo', '--grant', '>', ...extra], env);
  const cases: [string[], RegExp][] = [
    [['--info', '{name: Bo}'], /--info is not JSON/],
    [['--info', '{"name":"a name of more than sixteen bytes"}'], /over PRESENCE_MAX_INFO_BYTES \(16\)/],
    [['--subs', 'news..x'], /--subs news\.\.x/],
    [['--subs', 'a', '--subs', 'b', '--subs', 'c'], /--subs names 3 patterns; MAX_SUBSCRIPTIONS is 2/],
  ];
  for (const [extra, message] of cases) {
    const refused = await mint(extra);
    t.equal(refused.code, 2, extra.join(' '));
    t.match(refused.stderr, message);
    t.equal(refused.stdout, '', 'no token printed');
  }
  const fits = await mint(['--info', '"Bo"', '--subs', 'a.>']);
  t.equal(fits.code, 0, fits.stderr);
  t.match(decodeJwt(fits.stdout.trim()), { info: 'Bo', subs: ['a.>'] });
});

t.test('usage mistakes exit 2 with the usage', async (t) => {
  const noPattern = await run(['sub']);
  t.equal(noPattern.code, 2);
  t.match(noPattern.stderr, /sub takes one PATTERN[\s\S]*Usage: switchboard sub/);
  const badPriority = await run(['pub', 'a.b', 'x', '--priority', 'urgent']);
  t.equal(badPriority.code, 2);
  t.match(badPriority.stderr, /--priority urgent/);
  const unknownFlag = await run(['pub', 'a.b', 'x', '--bogus']);
  t.equal(unknownFlag.code, 2);
  t.match(unknownFlag.stderr, /bogus/);
  const badSince = await run(['sub', 'a.>', '--since', 'a.b=x']);
  t.equal(badSince.code, 2);
  t.match(badSince.stderr, /TOPIC=OFFSET@EPOCH/);
});

t.test('pub to a broker that is down reports the retries, and SIGTERM gives the publish up with exit code 1', async (t) => {
  const port = await freePort();
  const pub = runSwitchboard(['pub', 'a.b', 'x', '--url', `ws://127.0.0.1:${port}/`], { LOG_LEVEL: 'warn' });
  stopAtEnd(t, pub);
  await until('a reconnect notice', () => (/disconnected from .*retrying in \d+ ms/.test(pub.stderr()) ? true : undefined));
  pub.process.kill('SIGTERM');
  t.equal(await pub.closed, 1);
  t.match(pub.stderr(), /publish to a\.b failed: client_closed/);
  t.equal(pub.stdout(), '');
});
