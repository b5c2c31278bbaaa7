/** Try identities written flat in tests, as the activities take them (a RunRef's ids under `run`). */
import type { PodIdentity } from '../../activities/kubernetes/naming';

export interface FlatIdentity {
  pipelineId: string;
  runId: string;
  stepId: string;
  attempt: number;
  mapIndex?: number;
}

export function nested({ pipelineId, runId, ...rest }: FlatIdentity): PodIdentity {
  return { run: { pipelineId, runId }, ...rest };
}
