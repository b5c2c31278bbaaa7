/**
 * The `task` step (and `branch` steps with a function): calls a registered
 * TypeScript function with rendered arguments and returns its value as XCom.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Json, TaskDefinition } from '../pipeline';
import { FailureTypes, type RunTaskInput, type StepResult } from './types';

export function createTaskActivities(tasks: ReadonlyMap<string, TaskDefinition<never, unknown>>) {
  return {
    async runTask(input: RunTaskInput): Promise<StepResult> {
      const task = tasks.get(input.fn);
      if (!task) {
        throw ApplicationFailure.nonRetryable(
          `task function '${input.fn}' is not registered with this worker; registered: ${[...tasks.keys()].join(', ') || '(none)'}`,
          FailureTypes.unknownTask,
        );
      }
      const ctx = Context.current();
      const heartbeat = setInterval(() => ctx.heartbeat(), 1000);
      try {
        const result: unknown = await task.run(input.args as never, {
          pipelineId: input.pipelineId,
          runId: input.runId,
          stepId: input.stepId,
          attempt: input.attempt,
          logicalDate: input.logicalDate,
          params: input.params,
          log: (message) => {
            ctx.log.info(`[${input.runId} ${input.stepId}#${input.attempt}] ${message}`);
          },
          signal: ctx.cancellationSignal,
        });
        return result === undefined ? {} : { xcom: result as Json };
      } finally {
        clearInterval(heartbeat);
      }
    },
  };
}
