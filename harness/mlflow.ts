/** The MLflow tracking server, one per test file or benchmark, with the environment a worker needs to reach it. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type LocalMlflow, MLFLOW_ARTIFACTS_BUCKET, ensureBucket, startLocalMlflow } from '../scripts/local-mlflow';
import type { TestS3 } from './s3';

export interface TestMlflow {
  server: LocalMlflow;
  /** `http://127.0.0.1:<port>`: tracking URI, REST API and UI. */
  url: string;
  /** Where the server keeps artifacts: `s3://mlflow-artifacts` on the test's S3 server, else a folder. */
  artifactsDestination: string;
  /** What a worker reads to reach the server. */
  env: { TRAINYARD_MLFLOW_TRACKING_URI: string };
  stop(): Promise<void>;
}

/**
 * Starts a server from the bootstrapped venv ($TRAINYARD_MLFLOW_BIN) in a fresh temporary folder.
 * With `s3`, artifacts go to its bucket `mlflow-artifacts` (created here); without, to a folder.
 */
export async function startTestMlflow(s3?: Pick<TestS3, 'server' | 'client'>): Promise<TestMlflow> {
  const bin = process.env.TRAINYARD_MLFLOW_BIN;
  if (!bin) throw new Error("TRAINYARD_MLFLOW_BIN is not set; run the tests with npm test, which builds the MLflow server's venv");
  const dir = mkdtempSync(path.join(tmpdir(), 'trainyard-mlflow-'));
  let artifactsDestination = path.join(dir, 'artifacts');
  if (s3) {
    await ensureBucket(s3.client, MLFLOW_ARTIFACTS_BUCKET);
    artifactsDestination = `s3://${MLFLOW_ARTIFACTS_BUCKET}`;
  }
  const server = await startLocalMlflow({
    dir,
    bin,
    artifactsDestination,
    ...(s3 ? { s3: { endpoint: s3.server.endpoint, region: s3.server.region, accessKeyId: s3.server.accessKeyId, secretAccessKey: s3.server.secretAccessKey } } : {}),
  });
  return {
    server,
    url: server.url,
    artifactsDestination,
    env: { TRAINYARD_MLFLOW_TRACKING_URI: server.url },
    stop: () => server.stop(),
  };
}
