/**
 * Artifacts on a real Temporal server and a real S3 server (versitygw): steps
 * write under their TRAINYARD_ARTIFACTS_URI with boto3, using only what the
 * worker's environment gives them; later steps read what they wrote; the
 * objects are in the bucket at the keys the prefix promises. And the default,
 * a folder in the worker's state dir, when no store is configured.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defineTask, pipeline } from '../../pipeline';
import { loadConfig } from '../../worker/config';
import { type RunState, runStateQuery } from '../../contract';
import { type TestArtifactStore, startArtifactStore } from '../support/artifact-store';
import { historyText } from '../support/history';
import { type TestWorker, runToEnd, startDevServer, startRun, startWorker, step } from '../support/temporal';

const BUCKET = 'trainyard-artifacts';

/**
 * Puts argv[1] (text; `%(VAR)s` takes a variable) at $TRAINYARD_ARTIFACTS_URI + argv[2]
 * with boto3, configured by the environment alone, after listing what the prefix
 * already holds; try argv[3], if given, then fails.
 */
const PUT = String.raw`
import boto3, json, os, sys
prefix = os.environ['TRAINYARD_ARTIFACTS_URI']
bucket, _, key = prefix[len('s3://'):].partition('/')
s3 = boto3.client('s3', region_name=os.environ['AWS_REGION'])
listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get('Contents', [])
s3.put_object(Bucket=bucket, Key=key + sys.argv[2], Body=(sys.argv[1] % os.environ).encode())
with open(os.environ['TRAINYARD_XCOM_PATH'], 'w') as f:
    json.dump({'uri': prefix + sys.argv[2], 'prefix': prefix, 'endpoint': os.environ.get('AWS_ENDPOINT_URL'),
               'found_before': sorted(o['Key'][len(key):] for o in listed)}, f)
if len(sys.argv) > 3 and os.environ['TRAINYARD_ATTEMPT'] == sys.argv[3]:
    sys.exit('try %s fails on purpose after writing' % sys.argv[3])
`;

/** Reads the object at the s3:// URI in argv[1] and returns its text. */
const GET = String.raw`
import boto3, json, os, sys
bucket, _, key = sys.argv[1][len('s3://'):].partition('/')
body = boto3.client('s3', region_name=os.environ['AWS_REGION']).get_object(Bucket=bucket, Key=key)['Body'].read()
with open(os.environ['TRAINYARD_XCOM_PATH'], 'w') as f:
    json.dump({'text': body.decode()}, f)
`;

const prefixOf = defineTask('test.artifacts_prefix', (_args: unknown, ctx) => ({ uri: ctx.artifactsUri }));

const onS3 = pipeline({ id: 'artifacts_s3' }, (p) => {
  const written = p.process<{ uri: string }>('train', { command: ['python3', '-c', PUT, 'weights of {{ run_id }}', 'model.bin'] });
  p.process('evaluate', { command: ['python3', '-c', GET, '{{ xcom.train.uri }}'] }, { after: [written] });
  p.process('trial', { command: ['python3', '-c', PUT, 'part {{ map.part }}', 'part.txt'] }, { map: { expand: [{ part: 'a' }, { part: 'b' }] } });
  p.process('flaky', { command: ['python3', '-c', PUT, 'try %(TRAINYARD_ATTEMPT)s', 'out.txt', '1'] }, { retries: 1, retryDelay: '100ms' });
  p.task('in_task', prefixOf, {});
});

const onDisk = pipeline({ id: 'artifacts_file' }, (p) => {
  p.process('note', {
    command: ['sh', '-c', 'dir=${TRAINYARD_ARTIFACTS_URI#file://}; mkdir -p "$dir" && echo noted > "$dir/note.txt" && printf \'{"prefix": "%s"}\' "$TRAINYARD_ARTIFACTS_URI" > "$TRAINYARD_XCOM_PATH"'],
  });
});

/** The test process's environment without any S3 settings, so only what a test adds is there. */
function withoutS3Settings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^(AWS_|TRAINYARD_S3_|TRAINYARD_ARTIFACTS_)/.test(name)));
}

describe('artifacts in object storage', { timeout: 180_000 }, () => {
  let env: TestWorkflowEnvironment;
  let store: TestArtifactStore;
  let worker: TestWorker;
  let plainWorker: TestWorker;
  /** One run of `onS3`, which every S3 test below looks at. */
  let state: RunState;
  let history: string;

  before(async () => {
    store = await startArtifactStore(BUCKET);
    const workerEnv = store.workerEnv(withoutS3Settings(process.env), 'runs');
    env = await startDevServer();
    worker = await startWorker(env, [onS3], { artifacts: loadConfig(workerEnv).artifacts, processEnv: workerEnv });
    plainWorker = await startWorker(env, [onDisk], { processEnv: withoutS3Settings(process.env) });
    const handle = await startRun(env, worker, onS3);
    await handle.result();
    state = await handle.query(runStateQuery);
    history = historyText((await handle.fetchHistory()).events);
  });

  after(async () => {
    await worker?.stop();
    await plainWorker?.stop();
    await env?.teardown();
    await store?.stop();
  });

  const text = async (key: string): Promise<string> => (await store.read(key)).toString('utf8');
  const keysUnder = async (prefix: string): Promise<string[]> =>
    ((await store.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key ?? '').sort();

  it('a step writes under its prefix with boto3, a later step reads it back, and the object is at the expected key', async () => {
    const { runId } = state.run;
    const prefix = `s3://${BUCKET}/runs/artifacts_s3/${runId}/train/`;
    const train = step(state, 'train').output as { uri: string; prefix: string; endpoint: string };
    assert.equal(train.prefix, prefix);
    assert.equal(train.uri, `${prefix}model.bin`);
    // The worker mapped its TRAINYARD_S3_ENDPOINT to the variable boto3 reads.
    assert.equal(train.endpoint, store.s3.endpoint);
    assert.deepEqual(step(state, 'evaluate').output, { text: `weights of ${runId}` });
    assert.equal(await text(`runs/artifacts_s3/${runId}/train/model.bin`), `weights of ${runId}`);
    // Versitygw keeps objects as plain files: the key is the path under the bucket.
    assert.equal(readFileSync(path.join(store.s3.dir, 'data', BUCKET, 'runs', 'artifacts_s3', runId, 'train', 'model.bin'), 'utf8'), `weights of ${runId}`);
  });

  it('keeps the store\'s keys out of the run\'s history', () => {
    assert.ok(history.includes(`weights of ${state.run.runId}`), 'the decoded history lacks the XCom it must hold');
    assert.ok(!history.includes(store.s3.secretAccessKey), 'the secret key is in the history');
    assert.ok(!history.includes(store.s3.accessKeyId), 'the access key id is in the history');
  });

  it('gives each index of a mapped step a prefix of its own', async () => {
    const base = `runs/artifacts_s3/${state.run.runId}/trial/`;
    const outputs = step(state, 'trial').output as { prefix: string }[];
    assert.deepEqual(outputs.map((o) => o.prefix), [`s3://${BUCKET}/${base}0/`, `s3://${BUCKET}/${base}1/`]);
    assert.deepEqual(await keysUnder(base), [`${base}0/part.txt`, `${base}1/part.txt`]);
    assert.equal(await text(`${base}0/part.txt`), 'part a');
    assert.equal(await text(`${base}1/part.txt`), 'part b');
  });

  it('gives a retried step the prefix of the try before it', async () => {
    const flaky = step(state, 'flaky');
    assert.equal(flaky.attempt, 2);
    const output = flaky.output as { prefix: string; found_before: string[] };
    assert.equal(output.prefix, `s3://${BUCKET}/runs/artifacts_s3/${state.run.runId}/flaky/`);
    // The first try wrote out.txt there and failed; the second found it in the same place, then replaced it.
    assert.deepEqual(output.found_before, ['out.txt']);
    assert.equal(await text(`runs/artifacts_s3/${state.run.runId}/flaky/out.txt`), 'try 2');
  });

  it('gives a task function its prefix on the context', () => {
    assert.deepEqual(step(state, 'in_task').output, { uri: `s3://${BUCKET}/runs/artifacts_s3/${state.run.runId}/in_task/` });
  });

  it('keeps artifacts in the state dir when the worker names no store', async () => {
    const { state: local, error } = await runToEnd(env, plainWorker, onDisk);
    assert.equal(error, undefined, error);
    const dir = path.join(plainWorker.stateDir, 'artifacts', 'artifacts_file', local.run.runId, 'note');
    assert.deepEqual(step(local, 'note').output, { prefix: `file://${dir}/` });
    assert.equal(readFileSync(path.join(dir, 'note.txt'), 'utf8'), 'noted\n');
  });
});
