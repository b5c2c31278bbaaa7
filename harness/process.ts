/** Trainyard's entry points (the worker, the API) as real child processes, for tests and benchmarks. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface NodeProcess {
  child: ChildProcessWithoutNullStreams;
  /** What the process printed so far. */
  output: () => { stdout: string; stderr: string };
}

/** Starts `node SCRIPT` with extra environment variables, collecting its output. */
export function spawnNode(script: string, env: Record<string, string>): NodeProcess {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { child, output: () => ({ stdout, stderr }) };
}

/** The process's exit code, once it has exited. */
export async function exitCode(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}
