/** The worker process as production runs it: env config, serving runs, SIGTERM, bad config. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { existsSync, readFileSync } from 'node:fs';
import { pipeline } from '../fixtures/echo-pipeline';
import { pipeline as lostTry } from '../fixtures/lost-try-pipeline';
import { PIPELINE_RUN_WORKFLOW, type RunState } from '../../contract';
import { type NodeProcess, exitCode, processAlive, spawnNode } from '../support/process';
import { eventually, startDevServer, tempStateDir } from '../support/temporal';

const MAIN = path.resolve(__dirname, '..', '..', 'worker', 'main.js');

function startWorkerProcess(env: Record<string, string>): NodeProcess {
  return spawnNode(MAIN, { TRAINYARD_PIPELINES: 'test/fixtures/echo-pipeline.js', TRAINYARD_STATE_DIR: tempStateDir(), ...env });
}

const printed = ({ stdout, stderr }: { stdout: string; stderr: string }): string => stdout + stderr;

describe('worker/main', { timeout: 120_000 }, () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startDevServer();
  });
  after(async () => {
    await env?.teardown();
  });

  it('serves runs on its task queue and stops cleanly on SIGTERM', async () => {
    const { child, output } = startWorkerProcess({ TEMPORAL_ADDRESS: env.address, TRAINYARD_TASK_QUEUE: 'worker-main-test' });
    await eventually('the worker to start', () => (printed(output()).includes('trainyard worker on') ? true : undefined), 30_000);
    assert.match(printed(output()), /pipelines: api_echo; schedules: none/);
    const result = (await env.client.workflow.execute(PIPELINE_RUN_WORKFLOW, {
      taskQueue: 'worker-main-test',
      workflowId: `worker-main-${Date.now()}`,
      args: [{ spec: pipeline.spec, pipelineVersion: pipeline.version, logicalDate: '2026-05-01' }],
    })) as RunState;
    assert.equal(result.status, 'success');
    assert.deepEqual(result.steps.find((s) => s.id === 'second')?.output, { day: '2026-05-01' });
    child.kill('SIGTERM');
    assert.equal(await exitCode(child), 0, printed(output()));
  });

  it('resumes the same try on a new worker after the first one is killed, ending the process it left behind', async () => {
    const pidFile = path.join(tempStateDir(), 'pids');
    const queue = { TEMPORAL_ADDRESS: env.address, TRAINYARD_TASK_QUEUE: 'lost-try-test', TRAINYARD_PIPELINES: 'test/fixtures/lost-try-pipeline.js' };
    const first = startWorkerProcess(queue);
    await eventually('the first worker to start', () => (printed(first.output()).includes('trainyard worker on') ? true : undefined), 30_000);
    const handle = await env.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
      taskQueue: 'lost-try-test',
      workflowId: `lost-try-${Date.now()}`,
      args: [{ spec: lostTry.spec, params: { pid_file: pidFile } }],
    });
    const orphan = await eventually('the step to start its process', () => {
      const text = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '';
      return text ? Number(text) : undefined;
    });
    // The resumed try learns which process to end from the first try's heartbeat: kill the worker once the server has it.
    await eventually('the first try to report its process in a heartbeat', async () => {
      const details = (await handle.describe()).raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
      return details && defaultPayloadConverter.fromPayload<{ pid?: number }>(details).pid === orphan ? true : undefined;
    });
    first.child.kill('SIGKILL');
    await exitCode(first.child);
    // It runs for ten minutes: only the resumed try can end it within this test.
    assert.ok(processAlive(orphan), 'the lost worker left its process running');
    const second = startWorkerProcess(queue);
    try {
      const result = (await handle.result()) as RunState;
      const s = result.steps.find((x) => x.id === 'long_step');
      assert.equal(s?.state, 'success');
      assert.equal(s?.attempt, 1, 'a lost try is resumed, not counted as a failed try');
      const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
      assert.equal(pids.length, 2, 'the resumed try started the command once more');
      await eventually('the process the lost worker left behind to be gone', () => (processAlive(orphan) ? undefined : true), 10_000);
    } finally {
      second.child.kill('SIGTERM');
      await exitCode(second.child);
      if (processAlive(orphan)) process.kill(-orphan, 'SIGKILL');
    }
  });

  it('says in one line which pipeline module it cannot load', async () => {
    const { child, output } = startWorkerProcess({ TEMPORAL_ADDRESS: env.address, TRAINYARD_PIPELINES: 'nowhere/missing-module' });
    assert.equal(await exitCode(child), 1);
    const lines = printed(output()).trim().split('\n');
    assert.equal(lines.length, 1, printed(output()));
    assert.match(lines[0] ?? '', /^trainyard worker: cannot load pipeline module 'nowhere\/missing-module'/);
  });
});
