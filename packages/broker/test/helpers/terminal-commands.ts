import type { Test } from 'tap';
import { type SwitchboardProcess, runSwitchboard } from './switchboard-process.js';
import { freePort } from './topology-processes.js';

/** The terminal client's commands as processes, and a broker process for them to talk to. */

const deadlineMs = 60_000;

export async function until<Value>(what: string, probe: () => Value | undefined | Promise<Value | undefined>): Promise<Value> {
  for (const deadline = Date.now() + deadlineMs; Date.now() < deadline; ) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function stopAtEnd(t: Test, child: SwitchboardProcess): void {
  t.teardown(() => {
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
  });
}

export async function startBroker(t: Test, env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const broker = runSwitchboard(['--port', String(port)], env);
  stopAtEnd(t, broker);
  t.teardown(async () => {
    broker.process.kill('SIGTERM');
    await broker.exited;
  });
  await until(`the broker on port ${port}`, async () => {
    if (broker.process.exitCode !== null) throw new Error(`the broker exited: ${broker.output()}`);
    return fetch(`http://127.0.0.1:${port}/readyz`).then((response) => (response.ok ? true : undefined), () => undefined);
  });
  return `ws://127.0.0.1:${port}/`;
}

/** Runs a command to its end: exit code, stdout, stderr. */
export async function runCommand(args: readonly string[], env: Record<string, string> = {}, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = runSwitchboard(args, { LOG_LEVEL: 'warn', ...env }, input);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), deadlineMs);
  const code = await child.closed;
  clearTimeout(timer);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}
