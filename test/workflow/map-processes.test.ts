/**
 * Early stopping of mapped `process` and local `pod` steps on a real Temporal
 * server: the worst trials are pruned while they run, and their programs (with
 * everything they started) are gone by the time the run ends.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runDirectory } from '../../activities/process-runner';
import { type Pipeline, pipeline } from '../../pipeline';
import { runToEnd, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

/**
 * One trial: prints `trainyard.metric` lines whose score rises towards its quality,
 * one every 150 ms. It starts a helper (`sleep`) in its own process group, so the
 * test can tell that the runner ends the whole group, not just the program, and
 * records both pids under $TRAINYARD_RUN_DIR before its first metric.
 *
 * A trial of `steps` < 15 stops reporting there and then lingers for `linger`
 * seconds: long enough that the median rule, which sees the better trials pass
 * that step, certainly stops it first; if it were never stopped it would exit 1
 * and show up as a failure rather than hang the test.
 *
 * On SIGTERM (which the runner sends to the whole group) it marks that it was
 * stopped and reaps its helper before exiting, so no zombie of it is left for an
 * init that may be slow to reap orphans. The helper does not hold the runner's
 * pipes: were the group not signalled, the try would still end (SIGKILL of the
 * program after the grace period) and the test would find the helper alive.
 */
const TRIAL = String.raw`
import json, os, signal, subprocess, sys, time

quality, steps, linger = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
index = os.environ['TRAINYARD_MAP_INDEX']
out = os.path.join(os.environ['TRAINYARD_RUN_DIR'], 'pids', os.environ['TRAINYARD_STEP_ID'])
os.makedirs(out, exist_ok=True)
helper = None

def stopped(signum, frame):
    open(os.path.join(out, index + '.stopped'), 'w').close()
    if helper is not None:
        helper.wait()
    os._exit(128 + signum)

signal.signal(signal.SIGTERM, stopped)
helper = subprocess.Popen(['sleep', '600'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
with open(os.path.join(out, index + '.tmp'), 'w') as f:
    json.dump({'pid': os.getpid(), 'pgid': os.getpgid(0), 'helper': helper.pid}, f)
os.replace(os.path.join(out, index + '.tmp'), os.path.join(out, index + '.json'))

for step in range(1, steps + 1):
    time.sleep(0.15)
    print('trainyard.metric ' + json.dumps({'step': step, 'score': quality * step / 15}), flush=True)
time.sleep(linger)
helper.kill()
helper.wait()
if steps < 15:
    print('index %s was never pruned' % index, file=sys.stderr)
    sys.exit(1)
with open(os.environ['TRAINYARD_XCOM_PATH'], 'w') as f:
    json.dump({'index': int(index), 'quality': quality}, f)
`;

/** Four good trials and three clearly bad ones (indices 2, 4 and 6). */
const TRIALS = [
  { q: 0.95, steps: 15, linger: 0 },
  { q: 0.9, steps: 15, linger: 0 },
  { q: 0.15, steps: 8, linger: 30 },
  { q: 0.92, steps: 15, linger: 0 },
  { q: 0.1, steps: 8, linger: 30 },
  { q: 0.93, steps: 15, linger: 0 },
  { q: 0.2, steps: 8, linger: 30 },
];
const GOOD = [0, 1, 3, 5];
const BAD = [2, 4, 6];

const args = ['-u', '-c', TRIAL, '{{ map.q }}', '{{ map.steps }}', '{{ map.linger }}'];
const map = { expand: TRIALS, maxActive: TRIALS.length, earlyStopping: { metric: 'score', mode: 'max' as const, minSteps: 3, minTrials: 3 } };

const asProcess = pipeline({ id: 'map_stop_process' }, (p) => {
  p.process('trial', { command: ['python3', ...args] }, { map });
});
const IMAGE_DIR = mkdtempSync(path.join(tmpdir(), 'trainyard-trainer-image-'));
const asLocalPod = pipeline({ id: 'map_stop_local_pod' }, (p) => {
  p.pod('trial', { image: 'trainer:local', cmds: ['python3'], arguments: args }, { map });
});

/** Every program and helper the trials recorded, so a failed test does not leave them running. */
const recorded: number[] = [];

/** Throws unless `pid` (or, negative, the process group) no longer exists. */
function assertGone(pid: number, what: string): void {
  assert.throws(() => process.kill(pid, 0), (err: NodeJS.ErrnoException) => err.code === 'ESRCH', `${what} (${pid}) still exists`);
}

describe('early stopping of mapped processes', { timeout: 120_000 }, () => {
  const temporal = useWorkflowWorker([asProcess, asLocalPod], { localImages: { 'trainer:local': IMAGE_DIR } });
  after(() => {
    for (const pid of recorded) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone, as it should be.
      }
    }
  });

  const prunesAndKills = async (pipe: Pipeline): Promise<void> => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, pipe);
    assert.equal(error, undefined, error);
    const trial = step(state, 'trial');
    assert.equal(trial.state, 'success');
    assert.deepEqual((trial.map?.prunedIndices ?? []).map((p) => p.index), BAD, JSON.stringify(trial.map));
    for (const pruned of trial.map?.prunedIndices ?? []) assert.match(pruned.reason, /score best .* below the median/);
    // Pruned trials count as neither success nor failure.
    assert.equal(trial.map?.total, TRIALS.length);
    assert.equal(trial.map?.succeeded, GOOD.length);
    assert.equal(trial.map?.failed, 0);
    assert.equal(trial.map?.pruned, BAD.length);
    assert.equal(trial.map?.peakActive, TRIALS.length);
    assert.deepEqual(trial.output, GOOD.map((index) => ({ index, quality: TRIALS[index]?.q })));

    const pids = path.join(runDirectory(path.join(temporal.worker.stateDir, 'data'), state.run.runId), 'pids', 'trial');
    const started = TRIALS.map((_, index) => {
      const file = path.join(pids, `${index}.json`);
      assert.ok(existsSync(file), `index ${index} never recorded its pid`);
      const ids = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; pgid: number; helper: number };
      recorded.push(ids.pid, ids.helper);
      return ids;
    });
    started.forEach(({ pid, pgid, helper }, index) => {
      assert.equal(pgid, pid, 'each try runs as the leader of its own process group');
      // The runner stopped exactly the pruned ones; the good ones ran to their end.
      assert.equal(existsSync(path.join(pids, `${index}.stopped`)), BAD.includes(index), `index ${index} stopped by signal`);
      assertGone(pid, `index ${index}'s program`);
      assertGone(helper, `index ${index}'s helper`);
      assertGone(-pgid, `index ${index}'s process group`);
    });

    for (const index of BAD) {
      const { status } = await temporal.env.client.workflow.getHandle(`${state.run.runId}/trial/${index}`).describe();
      assert.equal(status.name, 'CANCELLED', `trial ${index}`);
    }
    for (const index of GOOD) {
      const { status } = await temporal.env.client.workflow.getHandle(`${state.run.runId}/trial/${index}`).describe();
      assert.equal(status.name, 'COMPLETED', `trial ${index}`);
    }
  };

  it('prunes the worst process trials and kills their process groups', () => prunesAndKills(asProcess));

  it('does the same for pod trials on the local runner', () => prunesAndKills(asLocalPod));
});
