/**
 * The fixture most workflow tests share: one Temporal server and one worker for
 * the pipelines of a describe block, started before its tests and stopped after.
 *
 * @example
 * describe('smoke', () => {
 *   const temporal = useWorkflowWorker([smoke]);
 *   it('runs', async () => {
 *     const { state } = await runToEnd(temporal.env, temporal.worker, smoke);
 *   });
 * });
 */
import { after, before } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Pipeline } from '../../pipeline';
import { type TestWorker, type TestWorkerOptions, startDevServer, startTimeSkippingServer, startWorker } from '../../harness';

export interface WorkflowWorkerOptions extends TestWorkerOptions {
  /**
   * The dev server, or the time-skipping server where durable timers (retry
   * delays, sensor intervals) would make a test slow.
   * @default 'dev'
   */
  server?: 'dev' | 'time-skipping';
}

/** The server and worker of a describe block; reading either before its `before` hook ran throws. */
export interface WorkflowWorker {
  readonly env: TestWorkflowEnvironment;
  readonly worker: TestWorker;
}

/**
 * Registers, in the calling describe block, a `before` hook that starts a server
 * and a worker for `pipelines` and an `after` hook that stops both. Hooks run in
 * the order they are registered: a block's own `before` registered after this
 * call can use the worker, and `options` may be a function, called in the hook,
 * when they depend on something an earlier `before` set up.
 */
export function useWorkflowWorker(
  pipelines: readonly Pipeline[],
  options: WorkflowWorkerOptions | (() => WorkflowWorkerOptions) = {},
): WorkflowWorker {
  let env: TestWorkflowEnvironment | undefined;
  let worker: TestWorker | undefined;
  before(async () => {
    const { server = 'dev', ...workerOptions } = typeof options === 'function' ? options() : options;
    env = server === 'time-skipping' ? await startTimeSkippingServer() : await startDevServer();
    worker = await startWorker(env, pipelines, workerOptions);
  });
  after(async () => {
    await worker?.stop();
    await env?.teardown();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the ${what} of useWorkflowWorker is read before its before hook started it`);
    return value;
  };
  return {
    get env() {
      return started(env, 'server');
    },
    get worker() {
      return started(worker, 'worker');
    },
  };
}
