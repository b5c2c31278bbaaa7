/**
 * Activities: all of Trainyard's I/O. Built by factories so the worker and
 * tests inject what they need:
 *
 *   const activities = createActivities({ dataDir, images, secretsDir, tasks });
 *   Worker.create({ activities, ... });
 *
 * Workflows import these as types only.
 */
import type { TaskDefinition } from '../pipeline';
import { type NotifyDeps, createNotifyActivities } from './notify';
import { type ProcessRunnerDeps, createProcessActivities } from './process-runner';
import { createTaskActivities } from './task-runner';

export * from './types';
export { runDirectory } from './process-runner';

export interface ActivityDeps extends ProcessRunnerDeps {
  tasks: ReadonlyMap<string, TaskDefinition<never, unknown>>;
  notify?: NotifyDeps;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createProcessActivities(deps),
    ...createTaskActivities(deps.tasks),
    ...createNotifyActivities(deps.notify),
  };
}

export type TrainyardActivities = ReturnType<typeof createActivities>;
