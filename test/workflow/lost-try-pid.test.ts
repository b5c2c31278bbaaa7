/**
 * A try resumed after its worker was lost ends the process group the lost
 * worker started, even when the lost worker died before its first heartbeat
 * reached the server: the group's pid is written down at spawn. Runs the
 * activity itself, with Temporal's mock activity environment standing for the
 * server's attempt count.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createProcessActivities, runDirectory } from '../../activities/process-runner';
import type { RunProcessInput } from '../../activities';
import { eventually, tempStateDir } from '../support/temporal';
import { processAlive } from '../support/process';

const input = (): RunProcessInput => ({
  run: { pipelineId: 'p', pipelineVersion: 'v', runId: 'lost-pid-run', logicalDate: '2026-03-01T00:00:00.000Z', params: {}, runner: 'local' },
  stepId: 'train',
  attempt: 1,
  command: ['true'],
  timeoutMs: 30_000,
});

/** A process group that would sleep for ten minutes, its pid written where the try that started it keeps it. */
function orphan(dataDir: string): number {
  const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  child.unref();
  const dir = path.join(runDirectory(dataDir, 'lost-pid-run'), '.xcom');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'train.1.json.pid'), String(child.pid));
  return child.pid as number;
}

describe('a resumed try and the process its lost worker left behind', () => {
  it('kills the group named in the pid file when no heartbeat told the server its pid', async () => {
    const dataDir = tempStateDir();
    const pid = orphan(dataDir);
    try {
      const activities = createProcessActivities({ dataDir, images: {}, secretsDir: dataDir, artifacts: { baseUri: `file://${dataDir}/artifacts` } });
      const runProcess = (i: RunProcessInput) => activities.runProcess(i);
      // The first attempt of a try starts afresh: it leaves any other group alone (the control). It
      // writes its own pid where the orphan's was and removes it when it ends, so the orphan's goes back.
      await new MockActivityEnvironment({ attempt: 1 }).run(runProcess, input());
      assert.equal(processAlive(pid), true, 'a first attempt does not touch the group');
      writeFileSync(path.join(runDirectory(dataDir, 'lost-pid-run'), '.xcom', 'train.1.json.pid'), String(pid));
      await new MockActivityEnvironment({ attempt: 2 }).run(runProcess, input());
      await eventually('the orphan to be gone', () => (processAlive(pid) ? undefined : true), 10_000);
    } finally {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  });
});
