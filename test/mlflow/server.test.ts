/**
 * The MLflow tracking server Trainyard runs (scripts/local-mlflow.ts): real `mlflow server` from the
 * bootstrapped venv, its UI served offline, artifacts proxied into the local S3 server, the
 * Host-header check, and a stop that leaves no process of the server behind.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { MLFLOW_ARTIFACTS_BUCKET, startLocalMlflow } from '../../scripts/local-mlflow';
import { type TestMlflow, startTestMlflow } from '../support/mlflow';
import { processAlive, processGroupMembers } from '../support/process';
import { type TestS3, objectBytes, startTestS3 } from '../support/s3';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request, with full control of the headers (Host included). */
function call(method: string, url: string, options: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function mlflowBin(): string {
  const bin = process.env.TRAINYARD_MLFLOW_BIN;
  if (!bin) throw new Error("TRAINYARD_MLFLOW_BIN is not set; run the tests with npm test, which builds the MLflow server's venv");
  return bin;
}

describe('the MLflow tracking server', () => {
  let s3: TestS3;
  let mlflow: TestMlflow;
  let startMs: number;

  before(async () => {
    s3 = await startTestS3();
    const started = performance.now();
    mlflow = await startTestMlflow(s3);
    startMs = performance.now() - started;
  });

  after(async () => {
    await mlflow?.stop();
    await s3?.stop();
  });

  it('listens on loopback and answers /health (start time in the diagnostics)', async (t) => {
    t.diagnostic(`the server answered /health ${(startMs / 1000).toFixed(1)} s after the start`);
    assert.match(mlflow.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(mlflow.env, { TRAINYARD_MLFLOW_TRACKING_URI: mlflow.url });
    const health = await call('GET', `${mlflow.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.body.toString(), 'OK');
  });

  it('serves the web UI offline: the page and the script and style bundles it references', async () => {
    const page = await call('GET', `${mlflow.url}/`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const html = page.body.toString();
    assert.match(html, /<title>MLflow<\/title>/);
    const assets = [...html.matchAll(/(?:src|href)="(?:\.\/)?(static-files\/[^"]+\.(js|css))"/g)];
    for (const kind of ['js', 'css']) {
      const asset = assets.find((m) => m[2] === kind);
      assert.ok(asset?.[1], `the page references no .${kind} bundle: ${html}`);
      const res = await call('GET', `${mlflow.url}/${asset[1]}`);
      assert.equal(res.status, 200, `${asset[1]} answered ${res.status}`);
      assert.match(String(res.headers['content-type']), kind === 'js' ? /javascript/ : /^text\/css/);
      assert.ok(res.body.length > 100_000, `${asset[1]} has only ${res.body.length} bytes`);
    }
  });

  it('keeps an artifact sent through the proxied artifacts API in the S3 bucket, byte for byte', async () => {
    const key = `trainyard-test/${randomUUID()}/model.bin`;
    const bytes = randomBytes(256 * 1024);
    const absent = await s3.client.send(new HeadObjectCommand({ Bucket: MLFLOW_ARTIFACTS_BUCKET, Key: key })).then(
      () => 'present',
      (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode,
    );
    assert.equal(absent, 404, 'the key existed before the upload');

    const put = await call('PUT', `${mlflow.url}/api/2.0/mlflow-artifacts/artifacts/${key}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    assert.equal(put.status, 200, put.body.toString());
    const back = await call('GET', `${mlflow.url}/api/2.0/mlflow-artifacts/artifacts/${key}`);
    assert.equal(back.status, 200);
    assert.ok(back.body.equals(bytes), 'the artifact came back different through MLflow');
    const stored = await objectBytes(s3.client, MLFLOW_ARTIFACTS_BUCKET, key);
    assert.ok(stored.equals(bytes), 'the object in S3 differs from what was uploaded');
  });

  it('answers 403 to a Host header other than localhost, and serves the same request for localhost', async () => {
    const url = `${mlflow.url}/api/2.0/mlflow/experiments/search?max_results=1`;
    const local = await call('GET', url, { headers: { host: `localhost:${new URL(mlflow.url).port}` } });
    assert.equal(local.status, 200, local.body.toString());
    assert.ok(Array.isArray((JSON.parse(local.body.toString()) as { experiments?: unknown[] }).experiments));
    const foreign = await call('GET', url, { headers: { host: 'mlflow.example.com' } });
    assert.equal(foreign.status, 403);
  });

  it('stop() ends every process of the server, the web server included (and runs no job runner)', async () => {
    const members = processGroupMembers(mlflow.server.pid);
    const commands = members.map((p) => p.command);
    assert.ok(members.some((p) => p.pid === mlflow.server.pid && /mlflow server/.test(p.command)), `no launcher in ${commands.join(' | ')}`);
    assert.ok(commands.some((c) => /uvicorn|gunicorn/.test(c)), `no web server in ${commands.join(' | ')}`);
    assert.ok(!commands.some((c) => c.includes('mlflow.server.jobs')), `a job runner was started: ${commands.join(' | ')}`);

    await mlflow.stop();
    assert.deepEqual(processGroupMembers(mlflow.server.pid), []);
    for (const { pid, command } of members) assert.equal(processAlive(pid), false, `${pid} (${command}) survived stop()`);
    await assert.rejects(call('GET', `${mlflow.url}/health`), { code: 'ECONNREFUSED' });
  });
});

describe('starting the MLflow tracking server', () => {
  it('refuses a fixed port that is taken, before starting anything', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    const dir = mkdtempSync(path.join(tmpdir(), 'trainyard-mlflow-'));
    try {
      await assert.rejects(startLocalMlflow({ dir, bin: mlflowBin(), port, artifactsDestination: path.join(dir, 'artifacts') }), /port \d+ \(MLflow\) is in use/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('reports the end of its log when the server exits before answering', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'trainyard-mlflow-'));
    // A backend store that is no SQLite database: the server fails while it opens it.
    writeFileSync(path.join(dir, 'mlflow.db'), 'not a database\n'.repeat(100));
    await assert.rejects(startLocalMlflow({ dir, bin: mlflowBin(), artifactsDestination: path.join(dir, 'artifacts') }), (err: Error) => {
      assert.match(err.message, /mlflow server exited with \d+ before answering/);
      assert.ok(err.message.includes(path.join(dir, 'mlflow.log')), err.message);
      assert.match(err.message, /not a database/i);
      return true;
    });
  });
});
