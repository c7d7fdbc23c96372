import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion, killing it after `timeoutMs` so a hung peer cannot hang the suite. */
export function run(command: string, args: readonly string[], options: SpawnOptions & { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A program that exits without reading its input (or before it is written) must not fail the test.
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.input ?? '');
  });
}

export interface StartedProcess {
  child: ChildProcess;
  /** The first stdout line that matched `ready`. */
  readyLine: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a long-running peer and waits until a stdout line matches `ready` (a server announcing its
 * port, say). Fails loudly if it exits or stays silent for `timeoutMs`.
 */
export function start(command: string, args: readonly string[], ready: RegExp, options: SpawnOptions & { timeoutMs?: number } = {}): Promise<StartedProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let settled = false;
    const stop = (): Promise<void> =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`${command} did not become ready in time; output:\n${output}`));
    }, options.timeoutMs ?? 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (settled) return;
      const line = output.split('\n').find((candidate) => ready.test(candidate));
      if (line === undefined) return;
      settled = true;
      clearTimeout(timer);
      resolve({ child, readyLine: line, output: () => output, stop });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready; output:\n${output}`));
    });
  });
}
