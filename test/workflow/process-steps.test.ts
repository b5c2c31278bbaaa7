/** process and pod (local runner) steps: XCom files, failures, timeouts, cancellation, env and secrets. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { pipeline } from '../../pipeline';
import { runStateQuery } from '../../contract';
import { historyText, withPlantedResult } from '../support/history';
import { processAlive } from '../support/process';
import { echo } from '../support/tasks';
import { eventually, runToEnd, startRun, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

const scratch = mkdtempSync(path.join(tmpdir(), 'trainyard-proc-'));
const sh = (script: string): string[] => ['sh', '-c', script];

const xcomPipeline = pipeline({ id: 'process_xcom', params: { who: 'trainer' } }, (p) => {
  const produce = p.process<{ rows: number; path: string }>('produce', {
    command: sh(`printf '{"rows": 5, "path": "/data/x"}' > "$TRAINYARD_XCOM_PATH"; echo produced`),
  });
  p.task('consume', echo, { rows: produce.get('rows'), text: 'path={{ xcom.produce.path }} all={{ xcom.produce }}' });
  p.process('silent', { command: ['true'] });
  p.task('after_silent', echo, { got: "{{ xcom.silent | default('none') }}" }, { after: ['silent'] });
  p.process('env_and_cwd', {
    command: sh(`printf '{"greeting": "%s", "cwd": "%s", "step": "%s"}' "$GREETING" "$PWD" "$TRAINYARD_STEP_ID" > "$TRAINYARD_XCOM_PATH"`),
    cwd: scratch,
    env: { GREETING: 'hello {{ params.who }} {{ ds_nodash }}' },
  });
});

const failing = pipeline({ id: 'process_failures', defaults: { retries: 2, retryDelay: '100ms' } }, (p) => {
  p.process('bad_json', { command: sh(`echo 'not json' > "$TRAINYARD_XCOM_PATH"`) });
  p.process('exit_three', { command: sh('echo first line; echo "it broke" >&2; exit 3') }, { retries: 0 });
  p.process('missing_command', { command: ['definitely-not-a-command-xyz'] });
  p.process('slow', { command: sh(`echo $$ > ${scratch}/slow.pid; exec sleep 30`) }, { timeout: '1s', retries: 0 });
});

const cancellable = pipeline({ id: 'process_cancel' }, (p) => {
  p.process('long', { command: sh(`sleep 300 & echo $! > ${scratch}/child.pid; echo $$ > ${scratch}/leader.pid; wait`) }, { heartbeatTimeout: '2s' });
});

const imageDir = mkdtempSync(path.join(tmpdir(), 'trainyard-image-'));
writeFileSync(path.join(imageDir, 'tool.sh'), `printf '{"args": "%s", "token_length": %d}' "$*" "\${#API_TOKEN}" > "$TRAINYARD_XCOM_PATH"\n`);
const SECRET = 'tok-4f9d1c-very-secret';
const podLocal = pipeline({ id: 'pod_local' }, (p) => {
  p.pod('tool', {
    image: 'tools:1',
    cmds: ['sh', 'tool.sh'],
    arguments: ['--date', '{{ ds }}'],
    env: [{ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } }],
    resources: { limits: { 'nvidia.com/gpu': '1' } },
  });
  p.pod('unknown_image', { image: 'nobody:1', cmds: ['true'] });
});

describe('process and local pod steps', () => {
  const temporal = useWorkflowWorker([xcomPipeline, failing, cancellable, podLocal], { localImages: { 'tools:1': imageDir } });
  before(() => {
    mkdirSync(path.join(temporal.worker.stateDir, 'secrets', 'api'), { recursive: true });
    writeFileSync(path.join(temporal.worker.stateDir, 'secrets', 'api', 'token'), `${SECRET}\n`);
  });

  it('reads XCom from the file, by whole value and by key, and passes it on', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, xcomPipeline);
    assert.equal(error, undefined);
    assert.deepEqual(step(state, 'produce').output, { rows: 5, path: '/data/x' });
    assert.deepEqual(step(state, 'consume').output, { rows: 5, text: 'path=/data/x all={"rows":5,"path":"/data/x"}' });
  });

  it('treats a missing XCom file as no XCom', async () => {
    const { state } = await runToEnd(temporal.env, temporal.worker, xcomPipeline);
    assert.equal(step(state, 'silent').state, 'success');
    assert.equal('output' in step(state, 'silent'), false);
    assert.deepEqual(step(state, 'after_silent').output, { got: 'none' });
  });

  it('runs with rendered env, the given cwd and the step id', async () => {
    const { state } = await runToEnd(temporal.env, temporal.worker, xcomPipeline);
    assert.deepEqual(step(state, 'env_and_cwd').output, { greeting: 'hello trainer 20260301', cwd: scratch, step: 'env_and_cwd' });
  });

  it('fails clearly: invalid XCom (not retried), exit code with last lines, missing command', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, failing);
    const badJson = step(state, 'bad_json');
    assert.equal(badJson.state, 'failed');
    assert.equal(badJson.attempt, 1, 'invalid JSON is not retried');
    assert.match(badJson.error ?? '', /XCom file is not valid JSON/);
    const exit = step(state, 'exit_three');
    assert.match(exit.error ?? '', /exited with code 3/);
    assert.match(exit.error ?? '', /first line\nit broke/);
    const missing = step(state, 'missing_command');
    assert.equal(missing.attempt, 1);
    assert.match(missing.error ?? '', /command 'definitely-not-a-command-xyz' was not found/);
    assert.match(error ?? '', /bad_json, exit_three, missing_command, slow|bad_json/);
  });

  it('kills a step that runs past its timeout', async () => {
    const { state } = await runToEnd(temporal.env, temporal.worker, failing);
    const slow = step(state, 'slow');
    assert.equal(slow.state, 'failed');
    assert.match(slow.error ?? '', /timed out after 1\.0s/);
    const pid = Number(readFileSync(path.join(scratch, 'slow.pid'), 'utf8'));
    await eventually('the timed-out process to be gone', () => (processAlive(pid) ? undefined : true));
  });

  it('cancelling a run kills the whole process group', async () => {
    const handle = await startRun(temporal.env, temporal.worker, cancellable);
    const [leader, child] = await eventually('the process to start', () => {
      const read = (name: string) => Number(readFileSync(path.join(scratch, name), 'utf8'));
      return [read('leader.pid'), read('child.pid')];
    });
    assert.ok(processAlive(leader) && processAlive(child));
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause?.name === 'CancelledFailure');
    await eventually('the leader and its child to be gone', () => (processAlive(leader) || processAlive(child) ? undefined : true), 5000);
    const state = await handle.query(runStateQuery);
    assert.equal(state.status, 'cancelled');
    assert.equal(step(state, 'long').state, 'failed');
  });

  it('runs pod steps locally in the image directory, with secrets from files that never reach history', async () => {
    const handle = await startRun(temporal.env, temporal.worker, podLocal);
    await handle.result().catch(() => undefined);
    const state = await handle.query(runStateQuery);
    assert.deepEqual(step(state, 'tool').output, { args: '--date 2026-03-01', token_length: SECRET.length });
    assert.match(step(state, 'unknown_image').error ?? '', /image 'nobody:1' has no local directory/);
    const fetched = await handle.fetchHistory();
    const history = historyText(fetched);
    assert.ok(history.includes(`"token_length":${SECRET.length}`), 'the search sees into payloads: it finds the result the step returned');
    assert.equal(history.includes(SECRET), false, 'the secret value is not in history');
    assert.ok(historyText(withPlantedResult(fetched, { token: SECRET })).includes(SECRET), 'the search finds the secret where a step returned it');
  });
});
