/**
 * The `task` step (and `branch` steps with a function): calls a registered
 * TypeScript function with rendered arguments and returns its value as XCom.
 * Whatever the function throws becomes a `TaskFailed` step failure, so the
 * step's retry policy (not Temporal's) decides what happens next.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { failure, failureOf, tryTag } from '../contract';
import { formatDuration } from '../pipeline';
import type { Json, TaskDefinition } from '../pipeline';
import { type ArtifactsOptions, artifactsUri } from './artifacts';
import { forwardMetrics } from './metrics-forwarder';
import type { RunTaskInput, StepResult } from './types';

export function createTaskActivities(tasks: ReadonlyMap<string, TaskDefinition<never, unknown>>, artifacts: ArtifactsOptions) {
  return {
    async runTask(input: RunTaskInput): Promise<StepResult> {
      const task = tasks.get(input.fn);
      if (!task) {
        throw failure('unknownTask', `task function '${input.fn}' is not registered with this worker; registered: ${[...tasks.keys()].join(', ') || '(none)'}`);
      }
      const ctx = Context.current();
      const abort = new AbortController();
      const onCancel = (): void => abort.abort(ctx.cancellationSignal.reason);
      ctx.cancellationSignal.addEventListener('abort', onCancel);
      const heartbeat = setInterval(() => ctx.heartbeat(), 1000);
      const metrics = forwardMetrics(input);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        if (input.timeoutMs === undefined) return;
        timer = setTimeout(() => {
          abort.abort();
          reject(failure('stepTimeout', `timed out after ${formatDuration(input.timeoutMs ?? 0)}`));
        }, input.timeoutMs);
      });
      try {
        const result: unknown = await Promise.race([
          Promise.resolve(
            task.run(input.args as never, {
              ...input.run,
              stepId: input.stepId,
              attempt: input.attempt,
              ...(input.mapIndex !== undefined ? { mapIndex: input.mapIndex } : {}),
              artifactsUri: artifactsUri(artifacts.baseUri, input),
              log: (message) => {
                ctx.log.info(`[${tryTag(input)}] ${message}`);
              },
              reportMetrics: (step, values) => metrics.report(step, values),
              signal: abort.signal,
            }),
          ),
          timedOut,
        ]);
        await metrics.flush();
        return result === undefined ? {} : { xcom: result as Json };
      } catch (err) {
        // Whatever the function threw on its way out, a cancelled try reports as cancelled.
        if (ctx.cancellationSignal.aborted) throw err instanceof CancelledFailure ? err : new CancelledFailure(`cancelled: ${err instanceof Error ? err.message : String(err)}`);
        // Our own failures (the timeout, a failure from Trainyard code the task called) pass as they are.
        if (failureOf(err)?.failure === err) throw err;
        const final = err instanceof ApplicationFailure && err.nonRetryable === true;
        throw failure(final ? 'taskFailedFinal' : 'taskFailed', err instanceof Error ? err.message : String(err), err instanceof Error ? { cause: err } : {});
      } finally {
        clearInterval(heartbeat);
        clearTimeout(timer);
        ctx.cancellationSignal.removeEventListener('abort', onCancel);
      }
    },
  };
}
