/**
 * A pipeline that lives outside Trainyard's repository: it imports the
 * installed `trainyard` package, is compiled by this package's own tsconfig,
 * and is served by the package's `trainyard` command:
 *
 *   npx trainyard worker --pipelines dist/pipeline.js
 *   npx trainyard api --pipelines dist/pipeline.js
 *
 * `count` is a process step (any command; its XCom is the JSON it writes to
 * $TRAINYARD_XCOM_PATH, here the run's `rows` param), `summarise` a TypeScript
 * task that reads one key of it.
 */
import { defineTask, pipeline } from 'trainyard';
import type { RunState } from 'trainyard/client';

interface Count {
  rows: number;
}

export const summarise = defineTask('external.summarise', (args: Count) => ({ rows: args.rows, ok: args.rows > 0 }));

export default pipeline({ id: 'external_pipeline', description: 'counts rows, then summarises the count', params: { rows: 3 } }, (p) => {
  const count = p.process<Count>('count', {
    command: ['python3', '-c', 'import json, os, sys; json.dump({"rows": int(sys.argv[1])}, open(os.environ["TRAINYARD_XCOM_PATH"], "w"))', '{{ params.rows }}'],
  });
  p.task('summarise', summarise, { rows: count.get('rows') });
});

/** One line about a finished run, from its state as `GET /runs/:id` or the `runState` query gives it. */
export function describeRun(state: RunState): string {
  return `${state.run.pipelineId} ${state.run.runId}: ${state.status} (${state.steps.filter((s) => s.state === 'success').length} steps succeeded)`;
}
