/**
 * The `process` step (and `pod` steps on the local runner): runs a command as
 * its own process group, streams its output line by line into the worker log,
 * heartbeats, and kills the whole group on cancellation or timeout.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CancelledFailure, Context } from '@temporalio/activity';
import { failure, tryTag } from '../contract';
import type { EnvVar, Json } from '../pipeline';
import { formatDuration } from '../pipeline';
import { ARTIFACTS_URI_ENV, type ArtifactsOptions, artifactsUri } from './artifacts';
import { forwardMetrics } from './metrics-forwarder';
import type { RunProcessInput, StepResult } from './types';
import { mlflowEnv } from './mlflow/tracking';

export interface ProcessRunnerDeps {
  /** Where run directories (shared by a run's steps) and XCom files live. */
  dataDir: string;
  /** Image name -> local directory, so `pod` steps run on a laptop. */
  images: Readonly<Record<string, string>>;
  /** Kubernetes-style secrets for the local runner: `<secretsDir>/<secret>/<key>` holds the value. */
  secretsDir: string;
  /** Where steps keep their artifacts; each try gets its prefix as `$TRAINYARD_ARTIFACTS_URI`. */
  artifacts: ArtifactsOptions;
  /**
   * The environment step processes start from: the worker's own, so credentials
   * (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...) reach them without passing through history.
   * @default process.env
   */
  processEnv?: NodeJS.ProcessEnv;
  /** MLflow's URL: a tracked try's process gets it as MLFLOW_TRACKING_URI. */
  mlflowTrackingUri?: string;
  /** Lines of output kept for failure messages. @default 20 */
  tailLines?: number;
  /** How long a killed group gets between SIGTERM and SIGKILL, ms. @default 5000 */
  killGraceMs?: number;
}

const safe = (name: string): string => name.replace(/[^A-Za-z0-9_.-]/g, '_');

/** The directory a run's steps share (`$TRAINYARD_RUN_DIR`). */
export function runDirectory(dataDir: string, runId: string): string {
  return path.join(dataDir, 'runs', safe(runId));
}

async function resolveEnv(env: readonly EnvVar[], secretsDir: string): Promise<Record<string, string>> {
  const resolved: Record<string, string> = {};
  for (const variable of env) {
    if (variable.value !== undefined) {
      resolved[variable.name] = variable.value;
      continue;
    }
    const ref = variable.valueFrom?.secretKeyRef ?? variable.valueFrom?.configMapKeyRef;
    if (!ref) continue;
    const file = path.join(secretsDir, safe(ref.name), safe(ref.key));
    try {
      resolved[variable.name] = (await readFile(file, 'utf8')).replace(/\n$/, '');
    } catch {
      throw failure('missingSecret', `env '${variable.name}' refers to '${ref.name}/${ref.key}', which the local runner looks for in ${file}; create that file`);
    }
  }
  return resolved;
}

/** The process group a try wrote down when it started, if its file is there. */
async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

async function readXCom(file: string): Promise<StepResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {};
  }
  try {
    return { xcom: JSON.parse(text) as Json };
  } catch (err) {
    throw failure('invalidXCom', `the XCom file is not valid JSON (${(err as Error).message}); write one JSON value to $TRAINYARD_XCOM_PATH`);
  }
}

export function createProcessActivities(deps: ProcessRunnerDeps) {
  const tailLines = deps.tailLines ?? 20;
  const killGraceMs = deps.killGraceMs ?? 5000;

  return {
    async runProcess(input: RunProcessInput): Promise<StepResult> {
      const ctx = Context.current();
      const runDir = runDirectory(deps.dataDir, input.run.runId);
      const xcomDir = path.join(runDir, '.xcom');
      await mkdir(xcomDir, { recursive: true });
      // Indices of a mapped step run side by side: each try of each index has its own file.
      const xcomPath = path.join(xcomDir, `${safe(input.stepId)}${input.mapIndex !== undefined ? `.i${input.mapIndex}` : ''}.${input.attempt}.json`);
      // The try's process group, written down before anything else can happen: a worker killed
      // before its first heartbeat reached the server still leaves this behind for the resumed try.
      const pidPath = `${xcomPath}.pid`;
      // A resumed try (its worker was lost): the group it started may still run here; end it first.
      if (ctx.info.attempt > 1) {
        const lost = ctx.info.heartbeatDetails as { pid?: number } | undefined;
        const pid = typeof lost?.pid === 'number' ? lost.pid : await readPid(pidPath);
        if (pid !== undefined) killGroup(pid, 'SIGKILL');
      }
      await rm(xcomPath, { force: true });

      let cwd = input.cwd ?? runDir;
      if (input.image !== undefined) {
        const dir = deps.images[input.image];
        if (dir === undefined) {
          throw failure(
            'unknownImage',
            `image '${input.image}' has no local directory; add it to the pipeline module's localImages (known: ${Object.keys(deps.images).join(', ') || 'none'})`,
          );
        }
        cwd = input.cwd ?? dir;
      }
      const env = {
        ...(deps.processEnv ?? process.env),
        ...deps.artifacts.env,
        ...(await resolveEnv(input.env ?? [], deps.secretsDir)),
        TRAINYARD_XCOM_PATH: xcomPath,
        TRAINYARD_RUN_DIR: runDir,
        TRAINYARD_RUN_ID: input.run.runId,
        TRAINYARD_STEP_ID: input.stepId,
        TRAINYARD_ATTEMPT: String(input.attempt),
        [ARTIFACTS_URI_ENV]: artifactsUri(deps.artifacts.baseUri, input),
        ...(input.mapIndex !== undefined ? { TRAINYARD_MAP_INDEX: String(input.mapIndex) } : {}),
        ...mlflowEnv(input, deps.mlflowTrackingUri),
      };

      const [command = '', ...args] = input.command;
      const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      // Synchronously: awaiting here would let a quick command's 'close' pass before anyone listens.
      if (child.pid !== undefined) writeFileSync(pidPath, String(child.pid));
      const tail: string[] = [];
      let lines = 0;
      const tag = tryTag(input);
      const metrics = forwardMetrics(input);
      for (const [stream, source] of [['stdout', child.stdout], ['stderr', child.stderr]] as const) {
        createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => {
          lines++;
          tail.push(line);
          if (tail.length > tailLines) tail.shift();
          ctx.log.info(`[${tag}] ${line}`, { stepId: input.stepId, stream });
          metrics.line(line);
        });
      }

      let stopReason: 'cancelled' | 'timeout' | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = (reason: 'cancelled' | 'timeout'): void => {
        if (stopReason || child.pid === undefined) return;
        stopReason = reason;
        killGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => child.pid !== undefined && killGroup(child.pid, 'SIGKILL'), killGraceMs);
      };
      const onCancel = (): void => stop('cancelled');
      ctx.cancellationSignal.addEventListener('abort', onCancel);
      const timeoutTimer = setTimeout(() => stop('timeout'), input.timeoutMs);
      const heartbeat = setInterval(() => ctx.heartbeat({ pid: child.pid, lines }), 1000);
      ctx.heartbeat({ pid: child.pid, lines });

      const started = Date.now();
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>(
        (resolve) => {
          child.once('error', (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, error }));
          child.once('close', (code, signal) => resolve({ code, signal }));
        },
      );
      clearInterval(heartbeat);
      clearTimeout(timeoutTimer);
      await metrics.flush();
      ctx.cancellationSignal.removeEventListener('abort', onCancel);
      // Whatever the group's leader did, make sure none of its children outlive the step.
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      await rm(pidPath, { force: true });
      if (killTimer) clearTimeout(killTimer);

      const last = tail.length ? `; last lines:\n${tail.join('\n')}` : '';
      if (stopReason === 'cancelled') throw new CancelledFailure(`cancelled; process group ${child.pid} killed`);
      if (stopReason === 'timeout') {
        throw failure('stepTimeout', `timed out after ${formatDuration(input.timeoutMs)}; process group ${child.pid} killed${last}`);
      }
      if (exit.error) {
        throw failure(
          'commandNotFound',
          exit.error.code === 'ENOENT' ? `command '${command}' was not found (cwd ${cwd}); check the command and PATH` : `could not start '${command}': ${exit.error.message}`,
        );
      }
      if (exit.code !== 0) {
        const how = exit.code === null ? `was killed by ${exit.signal ?? 'a signal'}` : `exited with code ${exit.code}`;
        throw failure('processExit', `'${input.command.join(' ')}' ${how} after ${formatDuration(Date.now() - started)}${last}`, {
          details: [{ exitCode: exit.code, signal: exit.signal, tail }],
        });
      }
      return readXCom(xcomPath);
    },
  };
}
