import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { leakedCanaries, secretOptions } from '../helpers/secret-values.js';
import { eventually, eventuallyAsync } from '../helpers/start-broker.js';
import { type SwitchboardProcess, runSwitchboard } from '../helpers/switchboard-process.js';

/**
 * The `switchboard` process never prints a secret (issue 13). Every option marked `secret` in its record
 * (test/helpers/secret-values.ts) is given, as a real process's environment or flag, a value it refuses:
 * the process exits 2 naming the option, and its output shows no part of the value. Then one process runs
 * with every secret set to a value it accepts, behind a password-protected Redis, at LOG_LEVEL trace, and is
 * driven through everything that answers or logs: /healthz, /readyz, /metrics, auth failures on the
 * upgrade, on `refresh`, on POST /publish and on the admin endpoint (each secret offered as the token), and a
 * Redis outage; its logs, every answer and every frame are searched for the secrets. The thrown errors
 * themselves, per source, are test/config/secrets.test.ts.
 */

/** Each CLI run compiles the sources through tsx for a few seconds; the machine's two cores are shared. */
const parallelRuns = 3;

/** Runs `jobs` at most `parallelRuns` at a time. */
async function inTurns<T>(jobs: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await (jobs[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: parallelRuns }, worker));
  return results;
}

function killOnTeardown(child: SwitchboardProcess): void {
  t.teardown(() => {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  });
}

t.test('a refused secret, from the environment or a flag: exit 2 naming the option, and the value nowhere in the output', async (t) => {
  const secrets = secretOptions();
  const runs = secrets.flatMap((secret) => {
    const { env, flag } = secret.record;
    const bad = secret.bad[0] as string;
    return [
      { secret, how: `${env}=<bad>`, args: ['--port', '0'], env: { [env]: bad } },
      { secret, how: `--${flag} <bad>`, args: ['--port', '0', `--${flag}`, bad], env: {} },
    ];
  });
  const results = await inTurns(
    runs.map((run) => async () => {
      const child = runSwitchboard(run.args, run.env);
      killOnTeardown(child);
      return { code: await child.exited, output: child.output() };
    }),
  );
  runs.forEach(({ secret, how }, index) => {
    const { code, output } = results[index] as { code: number | null; output: string };
    t.equal(code, 2, `${how}: exit code 2`);
    t.match(output, `invalid configuration: ${secret.record.env} (--${secret.record.flag}): `, `${how}: names the option`);
    t.same(leakedCanaries(output, [secret]), [], `${how}: no part of the value in the output`);
  });
});

t.test('`switchboard config check` on a file holding every secret: exit 0 and the secrets masked; a refused one: exit 2, not shown', async (t) => {
  const dir = t.testdir({});
  const secrets = secretOptions();
  const good = join(dir, 'good.yaml');
  writeFileSync(good, secrets.flatMap((secret) => (secret.good.length > 0 ? [`${secret.key}: ${JSON.stringify(secret.good[0])}`] : [])).join('\n'));
  const runs = [{ file: good, code: 0 }];
  for (const secret of secrets) {
    const file = join(dir, `${secret.key}.yaml`);
    writeFileSync(file, `port: 0\n${secret.key}: ${JSON.stringify(secret.bad[0])}\n`);
    runs.push({ file, code: 2 });
  }
  const results = await inTurns(
    runs.map(({ file }) => async () => {
      const child = runSwitchboard(['config', 'check', file]);
      killOnTeardown(child);
      return { code: await child.exited, output: child.output() };
    }),
  );
  runs.forEach(({ file, code }, index) => {
    const result = results[index] as { code: number | null; output: string };
    t.equal(result.code, code, `${file}: exit ${code}`);
    if (code === 2) t.match(result.output, `invalid configuration: ${file}:2: `, `${file}: names the file and line`);
    t.same(leakedCanaries(result.output, secrets), [], `${file}: no part of any secret in the output`);
  });
});

t.test('a running broker with every secret set: logs, /healthz, /readyz, /metrics and failed auth show none of them', async (t) => {
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  const secrets = secretOptions(`${redis.host}:${redis.port}`);
  const running = secrets.filter((secret) => secret.good.length > 0);
  // The URL-shaped values carry their canary as the password: this Redis only lets them in with it.
  const redisSecret = running.find((secret) => secret.record.secret === 'url-password');
  if (redisSecret !== undefined) await redis.cli('CONFIG', 'SET', 'requirepass', redisSecret.canary);
  t.ok(redisSecret, 'one of them is the Redis URL, with a password');
  const env = Object.fromEntries(running.map((secret) => [secret.record.env, secret.good[0] as string]));
  const child = runSwitchboard(['--port', '0', '--node-name', 'secrets-node', '--auth-failure-after-upgrade'], { ...env, LOG_LEVEL: 'trace' });
  killOnTeardown(child);
  await eventually(() => child.output().includes('switchboard broker listening') || child.process.exitCode !== null, 60_000, 'the broker started');
  const url = /"url":"(ws:\/\/[^"]+)"/.exec(child.output())?.[1];
  t.ok(url, `listening at ${url}; ${running.map((secret) => secret.record.env).join(', ')} set`);
  const port = Number(new URL(url as string).port);
  const http = `http://127.0.0.1:${port}`;

  /** Everything the broker answered, besides its output. */
  const answers: string[] = [];
  const fetchText = async (path: string, init: RequestInit = {}): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${http}${path}`, init);
    const text = await response.text();
    answers.push(`${path} ${response.status} ${JSON.stringify([...response.headers])} ${text}`);
    return { status: response.status, text };
  };
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  t.equal((await fetchText('/healthz')).status, 200);
  t.equal((await fetchText('/readyz')).status, 200, 'ready: connected to the password-protected Redis');
  await fetchText('/metrics');

  const jwtSecret = env.JWT_SECRET;
  t.ok(jwtSecret, 'JWT_SECRET is set: tokens are verified');
  const valid = await signJwt({ sub: 'secrets', exp: Math.floor(Date.now() / 1000) + 3600, publish: ['>'], subscribe: ['>'] }, jwtSecret as string);
  const peer = await Peer.open(url as string, { headers: bearer(valid) });
  t.teardown(() => peer.close());

  for (const secret of running) {
    for (const value of secret.good) {
      // Offered as a token: a client that pastes a secret where a token goes must not get it echoed, nor logged.
      const refused = await Peer.open(url as string, { skipWelcome: true, headers: bearer(value) });
      const closed = await refused.waitClosed();
      t.match(closed, { code: 4401 }, `${secret.record.env} as a token on the upgrade: 4401`);
      answers.push(JSON.stringify([closed, refused.log]));
      const browser = await rawUpgrade(port, { 'Sec-WebSocket-Protocol': `pubsub.v1, bearer.${value.replace(/[^!-~]/g, '')}` });
      browser.socket?.destroy();
      answers.push(JSON.stringify(browser));
      const reply = await peer.request({ op: 'refresh', id: peer.id(), token: value });
      t.match(reply, { op: 'error', code: 'invalid_token' }, `${secret.record.env} as a refresh token: invalid_token`);
      answers.push(JSON.stringify(reply));
      const publish = await fetchText('/publish', { method: 'POST', headers: { ...bearer(value), 'content-type': 'application/json' }, body: '{"topic":"a","data":1}' });
      t.equal(publish.status, 401, `${secret.record.env} as a POST /publish token: 401`);
      const admin = await fetchText('/admin/rebalance', { method: 'POST', headers: { ...bearer(`${value}x`), 'content-type': 'application/json' }, body: '{"fraction":0.1}' });
      t.equal(admin.status, 401, `${secret.record.env} (changed) as the admin token: 401`);
    }
  }
  if (env.ADMIN_TOKEN !== undefined) {
    const admin = await fetchText('/admin/rebalance', { method: 'POST', headers: { ...bearer(env.ADMIN_TOKEN), 'content-type': 'application/json' }, body: '{"fraction":0.1}' });
    t.equal(admin.status, 202, 'the right admin token is accepted');
  }

  // An outage: engine errors reach the logs and /readyz's reason.
  await redis.kill();
  await eventuallyAsync(async () => (await fetchText('/readyz')).status === 503, '/readyz 503 without Redis');
  await fetchText('/metrics');
  child.process.kill('SIGTERM');
  await child.exited;

  const output = child.output();
  t.match(output, /"level":20/, 'debug lines logged too');
  t.match(output, /engine interrupted/, 'logged the outage');
  t.same(leakedCanaries(output, secrets), [], 'no secret in the logs');
  t.same(leakedCanaries(answers.join('\n'), secrets), [], 'no secret in any answer, header or frame');
});
