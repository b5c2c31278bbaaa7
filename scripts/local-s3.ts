/**
 * A real S3-compatible server on 127.0.0.1 for tests and the demo: versitygw
 * (built from its Go module by scripts/s3-build.sh) serving a plain directory
 * through its posix backend, object metadata in a sidecar directory (so the
 * filesystem needs no extended attributes). The port is a free one chosen at
 * start and the credentials are generated, so several servers can run side by side.
 *
 *   const s3 = await startLocalS3({ dir });
 *   ... createS3Client({ ...s3, forcePathStyle: true }) ...
 *   await s3.stop();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { PROJECT_ROOT } from '../worker/config';
import { freePort } from './ports';
import { serveUntilSignalled } from './serve-cli';

export interface LocalS3 {
  dir: string;
  /** `http://127.0.0.1:<port>`; clients must use path-style addressing. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

export interface LocalS3Options {
  /** Where the buckets (`data/`), object metadata (`meta/`) and the log go; kept after stop. */
  dir: string;
  /** Where the versitygw binary is (default: $TRAINYARD_S3_BIN, else <state>/s3-bin from the bootstrap). */
  binDir?: string;
  /** A fixed port (default: a free one). */
  port?: number;
  /** @default 'us-east-1' */
  region?: string;
  /** Fixed credentials (default: generated for this server). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** How long to wait for the server to answer. @default 30000 */
  timeoutMs?: number;
}

/** True when an S3 server answers on the endpoint: an anonymous ListBuckets gets an S3 XML reply (an AccessDenied error). */
function answers(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(endpoint, { method: 'GET', timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(res.statusCode !== undefined && body.includes('<?xml')));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Random key material of the usual shape: an access key of 20 upper-case characters, a secret of 40. */
function generatedKey(length: number, alphabet: string): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

export function defaultS3BinDir(): string {
  return process.env.TRAINYARD_S3_BIN ?? path.join(process.env.TRAINYARD_STATE_DIR ?? path.join(PROJECT_ROOT, '.trainyard'), 's3-bin');
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const dir = path.resolve(options.dir);
  const binary = path.join(options.binDir ?? defaultS3BinDir(), 'versitygw');
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const region = options.region ?? 'us-east-1';
  const accessKeyId = options.accessKeyId ?? `TY${generatedKey(18, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
  const secretAccessKey = options.secretAccessKey ?? generatedKey(40, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  const dataDir = path.join(dir, 'data');
  const metaDir = path.join(dir, 'meta');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(metaDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;

  const logFile = path.join(dir, 'versitygw.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  // Credentials through the environment, not argv, so they do not show in `ps`.
  const child: ChildProcess = spawn(
    binary,
    ['--port', `127.0.0.1:${port}`, '--region', region, '--quiet', 'posix', '--sidecar', metaDir, dataDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise((resolve) => log.end(resolve));
  };

  try {
    for (;;) {
      if (spawnError) throw new Error(`could not start ${binary}: ${spawnError.message} (run: npm run bootstrap)`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`versitygw exited with ${child.exitCode ?? child.signalCode} before answering; see ${logFile}`);
      }
      if (await answers(endpoint)) break;
      if (Date.now() > deadline) throw new Error(`versitygw did not answer on ${endpoint} in time; see ${logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, endpoint, region, accessKeyId, secretAccessKey, stop };
}

/**
 * `node dist/scripts/local-s3.js DIR`: runs a server until SIGTERM/SIGINT (for the demo).
 * Its endpoint and credentials go to DIR/connection.json (mode 0600) and, as one JSON line, to stdout.
 * TRAINYARD_S3_PORT, TRAINYARD_S3_ACCESS_KEY_ID and TRAINYARD_S3_SECRET_ACCESS_KEY fix them instead.
 */
if (require.main === module) {
  const dir = process.argv[2] ?? path.join(PROJECT_ROOT, '.trainyard', 's3');
  const env = process.env;
  const started = startLocalS3({
    dir,
    ...(env.TRAINYARD_S3_PORT ? { port: Number(env.TRAINYARD_S3_PORT) } : {}),
    ...(env.TRAINYARD_S3_ACCESS_KEY_ID ? { accessKeyId: env.TRAINYARD_S3_ACCESS_KEY_ID } : {}),
    ...(env.TRAINYARD_S3_SECRET_ACCESS_KEY ? { secretAccessKey: env.TRAINYARD_S3_SECRET_ACCESS_KEY } : {}),
  });
  serveUntilSignalled('local s3', started, (s3) => {
    const connection = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
    const file = path.join(s3.dir, 'connection.json');
    writeFileSync(file, `${JSON.stringify(connection, null, 2)}\n`, { mode: 0o600 });
    // The keys stay in the file (mode 0600), out of logs.
    return `${s3.endpoint} (region ${s3.region}; credentials in ${file})`;
  });
}
