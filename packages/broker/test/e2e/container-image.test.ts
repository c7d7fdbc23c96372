import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { type Instruction, copyBuildContext, envOf, parseDockerfile } from '../helpers/dockerfile.js';
import { freePort } from '../helpers/topology-processes.js';

/**
 * The container image without a Docker engine: the Dockerfile's build steps (scripts/build-dist.sh, run in a
 * copy of the build context as .dockerignore shapes it) and then its ENTRYPOINT, with plain node (no tsx, no
 * source condition) in the build output, as the image's WORKDIR. The broker must get ready, answer the
 * image's HEALTHCHECK, carry a publish to a subscriber (the image's own terminal client), and stop on SIGTERM.
 */

// A build and several processes on a machine that may be busy running other tests.
t.setTimeout(300_000);

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const dockerfile = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const lastStage = Math.max(...dockerfile.map((instruction) => instruction.stage));
const runtime = dockerfile.filter((instruction) => instruction.stage === lastStage);
const build = dockerfile.filter((instruction) => instruction.stage < lastStage);

// The test runs under tap's loaders, tsx and the source condition: none of that may reach the build or the
// image's processes (they would run the sources, not the build), so they get a clean environment (where
// programs are and where pnpm keeps its store) and no NODE_OPTIONS.
// The registry settings stay, for what pnpm's store lacks (the build script prefers the store).
const kept = /^(PATH|HOME|USER|LANG|LC_\w+|TMPDIR|TZ|PNPM_HOME|XDG_\w+_HOME|CI|https?_proxy|no_proxy|HTTPS?_PROXY|NO_PROXY|SSL_CERT_FILE|NODE_EXTRA_CA_CERTS|npm_config_(registry|cafile|store_dir)|pnpm_config_store_dir)$/;
const plainEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => kept.test(name)));

interface Finished {
  readonly code: number | null;
  readonly output: string;
}

function exec(argv: readonly string[], cwd: string, env: Record<string, string | undefined>, timeoutMs: number): { done: Promise<Finished>; kill: (signal: NodeJS.Signals) => void; output: () => string } {
  // Through env(1): tap's process tracking adds its loader to NODE_OPTIONS of every child it sees spawned.
  const child = spawn('env', ['-u', 'NODE_OPTIONS', ...argv], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  return { done, kill: (signal) => child.kill(signal), output: () => output };
}

/** `["node", "-e", "..."]` (the exec form), as an argv with `node` as this node. */
function execForm(instruction: Instruction | undefined, keyword: string): string[] {
  if (instruction === undefined) throw new Error(`the Dockerfile has no ${keyword}`);
  const json = instruction.args.slice(instruction.args.indexOf('['));
  const argv = JSON.parse(json) as string[];
  return argv[0] === 'node' ? [process.execPath, ...argv.slice(1)] : argv;
}

t.test('the Dockerfile: pnpm from package.json, the build script, a non-root runtime on the compiled JavaScript', async (t) => {
  const packageManager = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { packageManager: string }).packageManager;
  const pnpmVersion = build.find((instruction) => instruction.keyword === 'ARG' && instruction.args.startsWith('PNPM_VERSION='));
  t.equal(`pnpm@${pnpmVersion?.args.split('=')[1]}`, packageManager, 'the build stage installs the pnpm of package.json');
  t.ok(build.some((instruction) => instruction.keyword === 'RUN' && /^sh scripts\/build-dist\.sh \/out$/.test(instruction.args)), 'builds with scripts/build-dist.sh');
  t.ok(runtime.some((instruction) => instruction.keyword === 'COPY' && instruction.args === '--from=build /out /app'), 'runs the build output');
  t.match(runtime.find((instruction) => instruction.keyword === 'WORKDIR')?.args, '/app');
  const users = runtime.filter((instruction) => instruction.keyword === 'USER');
  t.ok(users.length > 0 && !/^(root|0)(:|$)/.test(users.at(-1)!.args), `runs as a non-root user (${users.at(-1)?.args})`);
  t.same(execForm(runtime.find((instruction) => instruction.keyword === 'ENTRYPOINT'), 'ENTRYPOINT').slice(1), ['dist/cli.js'], 'plain node on the compiled CLI');
  t.match(runtime.find((instruction) => instruction.keyword === 'HEALTHCHECK')?.args, /\/readyz/);
  t.ok(existsSync(join(root, '.dockerignore')));
});

t.test('docker-compose.yml runs the brokers from the image, not from mounted sources', async (t) => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { build?: unknown; volumes?: unknown; command?: unknown }>;
  };
  const brokers = Object.entries(compose.services).filter(([name]) => name.startsWith('broker-'));
  t.ok(brokers.length >= 2, 'two broker services');
  for (const [name, service] of brokers) {
    t.equal(service.build, '.', `${name} is built from the Dockerfile`);
    t.equal(service.volumes, undefined, `${name} mounts nothing`);
    t.equal(service.command, undefined, `${name} runs the image's own command`);
  }
});

t.test('the build steps of the image produce a broker that plain node runs', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'switchboard-image-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const context = join(work, 'context');
  const out = join(work, 'out');
  mkdirSync(context);
  const files = copyBuildContext(root, context);
  t.ok(files.includes('pnpm-lock.yaml') && files.includes('packages/broker/src/cli.ts'), 'the context holds the lockfile and the sources');
  t.notOk(files.some((file) => /(^|\/)(node_modules|dist|\.git)\//.test(file)), 'and no installed or built output');

  const buildStep = build.find((instruction) => instruction.keyword === 'RUN' && instruction.args.startsWith('sh scripts/build-dist.sh'))!;
  const built = await exec(['sh', '-c', buildStep.args.replace('/out', out)], context, plainEnv, 110_000).done;
  t.equal(built.code, 0, built.code === 0 ? 'the build script succeeds' : `the build script failed:\n${built.output.slice(-3000)}`);
  if (built.code !== 0) return;
  t.ok(existsSync(join(out, 'dist', 'cli.js')), 'dist/cli.js is in the output');
  t.notOk(existsSync(join(out, 'node_modules', 'typescript')), 'without development dependencies');

  const port = await freePort();
  // The image's environment, bound to loopback and a free port as every test here is.
  const env = { ...plainEnv, ...envOf(dockerfile, lastStage), HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' };
  const broker = exec(execForm(runtime.find((instruction) => instruction.keyword === 'ENTRYPOINT'), 'ENTRYPOINT'), out, env, 110_000);
  t.teardown(() => broker.kill('SIGKILL'));
  let ready = false;
  for (const deadline = Date.now() + 30_000; !ready && Date.now() < deadline; ) {
    ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.ok, () => false);
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(ready, `GET /readyz answers 200 (output: ${broker.output().slice(0, 2000)})`);

  const health = await exec(execForm(runtime.find((instruction) => instruction.keyword === 'HEALTHCHECK'), 'HEALTHCHECK'), out, env, 20_000).done;
  t.equal(health.code, 0, `the HEALTHCHECK command passes: ${health.output}`);

  const url = `ws://127.0.0.1:${port}/`;
  const sub = exec([process.execPath, 'dist/cli.js', 'sub', 'image.>', '--count', '1', '--url', url], out, env, 60_000);
  for (const deadline = Date.now() + 30_000; !sub.output().includes('subscribed to') && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const pub = await exec([process.execPath, 'dist/cli.js', 'pub', 'image.check', '{"built":true}', '--url', url], out, env, 30_000).done;
  t.equal(pub.code, 0, `pub: ${pub.output}`);
  const received = await sub.done;
  t.equal(received.code, 0, `sub: ${received.output}`);
  t.match(received.output, /^image\.check 1 \{"built":true\}$/m, 'the message went through the built broker');

  broker.kill('SIGTERM');
  t.equal((await broker.done).code, 0, 'SIGTERM stops it cleanly');
});
