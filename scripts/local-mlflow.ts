/**
 * A real MLflow tracking server on 127.0.0.1 for tests and the demo: `mlflow server` from the
 * venv the bootstrap builds (scripts/mlflow-requirements.txt), web UI included, with one worker,
 * a SQLite backend store and proxied artifacts: clients send artifacts through the server, which
 * keeps them under `--artifacts-destination` (a bucket on the local S3 server, or a folder), so a
 * client needs nothing but HTTP to the server.
 *
 *   const mlflow = await startLocalMlflow({ dir, bin, artifactsDestination: 's3://mlflow-artifacts', s3 });
 *   ... MLFLOW_TRACKING_URI=mlflow.url ...
 *   await mlflow.stop();
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../activities/object-store';
import { PROJECT_ROOT } from '../worker/config';
import { assertPortFree, freePort } from './ports';
import { serveUntilSignalled } from './serve-cli';

/** The bucket the demo's server keeps artifacts in. */
export const MLFLOW_ARTIFACTS_BUCKET = 'mlflow-artifacts';

/** An S3 server the MLflow server keeps artifacts on (what scripts/local-s3.ts reports). */
export interface LocalMlflowS3 {
  /** `http://host:port` of an S3-compatible server. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface LocalMlflowOptions {
  /** Where the backend store (`mlflow.db`) and the log (`mlflow.log`) go; kept after stop. */
  dir: string;
  /** The `mlflow` executable of the server's venv (`$TRAINYARD_MLFLOW_BIN`). */
  bin: string;
  /** A fixed port, which must be free (default: a free one). */
  port?: number;
  /** Where artifacts are kept: `s3://bucket[/prefix]` (on `s3` when given) or a folder. */
  artifactsDestination: string;
  /** The S3 server behind an `s3://` destination; only the MLflow server talks to it. */
  s3?: LocalMlflowS3;
  /** How long to wait for `/health` to answer. @default 120000 */
  timeoutMs?: number;
  /** How long stop() waits after SIGTERM before it kills what is left. @default 10000 */
  stopGraceMs?: number;
}

export interface LocalMlflow {
  /** `http://127.0.0.1:<port>`: the tracking URI, the REST API and the UI. */
  url: string;
  /** The `mlflow server` process; it leads a process group of its own, which holds everything it starts. */
  pid: number;
  dir: string;
  logFile: string;
  /** Ends the whole process group (SIGTERM, then SIGKILL after the grace time); resolves when none of it is left. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True once the server answers `GET /health` with 200. */
function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** True while any process of the group exists. */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Nothing of the group is left.
  }
}

async function groupGone(pgid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (groupExists(pgid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** The last lines of the server's log, for an error message. */
function logTail(file: string, lines = 20): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text ? text.split('\n').slice(-lines).join('\n') : '(the log is empty)';
  } catch {
    return '(no log was written)';
  }
}

/** The server's environment: the caller's, no telemetry, no job runner, and the S3 server's settings. */
function serverEnv(s3: LocalMlflowS3 | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MLFLOW_DISABLE_TELEMETRY: 'true',
    // The job runner executes MLflow's GenAI jobs (scorers, trace archival), which Trainyard does not
    // use; with it on the server starts eight more Python processes (about 1.4 GB) and a queue folder
    // in /dev/shm that a killed server leaves behind.
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
  };
  if (s3) {
    // These keys and no others: a session token or profile from the caller's environment would
    // be sent along with them and spoil the signature.
    delete env.AWS_SESSION_TOKEN;
    delete env.AWS_PROFILE;
    Object.assign(env, {
      MLFLOW_S3_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_DEFAULT_REGION: s3.region,
    });
  }
  return env;
}

export function defaultMlflowBin(stateDir = process.env.TRAINYARD_STATE_DIR ?? path.join(PROJECT_ROOT, '.trainyard')): string {
  return process.env.TRAINYARD_MLFLOW_BIN ?? path.join(stateDir, 'mlflow-venv', 'bin', 'mlflow');
}

/** Creates the bucket unless this server already has it. */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}

export async function startLocalMlflow(options: LocalMlflowOptions): Promise<LocalMlflow> {
  const dir = path.resolve(options.dir);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  // A URI (s3://...) as given; a folder made absolute, since the server resolves it against its own cwd.
  const destination = /^[a-z][a-z0-9+.-]*:\/\//i.test(options.artifactsDestination)
    ? options.artifactsDestination
    : path.resolve(options.artifactsDestination);
  mkdirSync(dir, { recursive: true });
  if (options.port !== undefined) await assertPortFree(options.port, 'MLflow');
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(dir, 'mlflow.log');

  const args = [
    'server',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--workers', '1',
    '--backend-store-uri', `sqlite:///${path.join(dir, 'mlflow.db')}`,
    '--artifacts-destination', destination,
  ];
  const logFd = openSync(logFile, 'a');
  // A process group of its own (detached), so stop() reaches the web server and anything else
  // `mlflow server` starts, not only the launcher.
  const child = spawn(options.bin, args, { cwd: dir, env: serverEnv(options.s3), detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const pgid = child.pid;
      if (pgid === undefined) return;
      signalGroup(pgid, 'SIGTERM');
      if (!(await groupGone(pgid, stopGraceMs))) {
        signalGroup(pgid, 'SIGKILL');
        await groupGone(pgid, 5000);
      }
      if (child.exitCode === null && child.signalCode === null) await exited;
    })());

  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (spawnError) throw new Error(`could not start ${options.bin}: ${spawnError.message} (run: npm run bootstrap)`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`mlflow server exited with ${child.exitCode ?? child.signalCode} before answering; the end of ${logFile}:\n${logTail(logFile)}`);
      }
      if (await healthy(url)) break;
      if (Date.now() > deadline) {
        throw new Error(`mlflow server did not answer ${url}/health within ${timeoutMs / 1000}s; the end of ${logFile}:\n${logTail(logFile)}`);
      }
      await sleep(250);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid as number, dir, logFile, stop };
}

/** The demo's server: its state in STATE_DIR/mlflow, its artifacts on the demo's local S3 server. */
async function startForStateDir(stateDir: string): Promise<LocalMlflow> {
  const connectionFile = path.join(stateDir, 's3', 'connection.json');
  let s3: LocalMlflowS3;
  try {
    s3 = JSON.parse(readFileSync(connectionFile, 'utf8')) as LocalMlflowS3;
  } catch (err) {
    throw new Error(
      `cannot read the S3 connection ${connectionFile} (${(err as Error).message}); start the local S3 server first: node dist/scripts/local-s3.js ${path.dirname(connectionFile)}`,
    );
  }
  const portText = process.env.TRAINYARD_MLFLOW_PORT ?? '5000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`TRAINYARD_MLFLOW_PORT must be a port number, not '${portText}'`);
  const client = createS3Client(s3);
  try {
    await ensureBucket(client, MLFLOW_ARTIFACTS_BUCKET);
  } catch (err) {
    throw new Error(`cannot create the bucket ${MLFLOW_ARTIFACTS_BUCKET} on the S3 server ${s3.endpoint} (${(err as Error).message}); is the local S3 server running?`);
  } finally {
    client.destroy();
  }
  return startLocalMlflow({
    dir: path.join(stateDir, 'mlflow'),
    bin: defaultMlflowBin(stateDir),
    port,
    artifactsDestination: `s3://${MLFLOW_ARTIFACTS_BUCKET}`,
    s3,
  });
}

/**
 * `node dist/scripts/local-mlflow.js STATE_DIR`: the demo's MLflow server until SIGTERM/SIGINT, on
 * TRAINYARD_MLFLOW_PORT (default 5000), with its artifacts in the bucket `mlflow-artifacts`
 * (created when missing) of the local S3 server that STATE_DIR/s3/connection.json describes.
 */
if (require.main === module) {
  const stateDir = path.resolve(process.argv[2] ?? path.join(PROJECT_ROOT, '.trainyard'));
  serveUntilSignalled('local mlflow', startForStateDir(stateDir), (mlflow) => mlflow.url);
}
