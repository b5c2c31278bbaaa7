/**
 * Routes S3 object events to pipelines: every registered pipeline's s3Key sensor
 * whose bucket and key template match the object. Open runs for the date the key
 * carries are signalled, so their waiting sensors look again at once; when none is
 * open and the sensor says `startRunOnEvent`, a run for that date is started with
 * the event as its first signal (signal-with-start, one run id per pipeline and date,
 * so a repeated notification never starts a second run).
 */
import { Inject, Injectable } from '@nestjs/common';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { type S3ObjectEvent, runsQuery, s3ObjectEventSignal } from '../../contract';
import { type Pipeline, type RunRef, type StepOf, matchKeyTemplate, renderString } from '../../pipeline';
import { PipelinesService } from '../pipelines/pipelines.service';
import { RunsService } from '../runs/runs.service';
import { TEMPORAL_CLIENT } from '../temporal/temporal.tokens';

/** What one object event did to one pipeline. */
export interface EventOutcome {
  bucket: string;
  key: string;
  pipelineId: string;
  stepId: string;
  /** The logical date the key carries (`2026-03-01`), or null when its template has none. */
  date: string | null;
  action: 'signalled' | 'started' | 'already-ran' | 'no-open-run';
  runIds: string[];
}

export interface EventsReply {
  outcomes: EventOutcome[];
  /** Records that were not object arrivals, or matched no sensor. */
  ignored: number;
}

const DAY_MS = 86_400_000;

/** The bucket and key templates of a sensor, with the pipeline's default params filled in where they are used. */
function sensorTargets(pipeline: Pipeline, step: StepOf<'sensor.s3Key'>): { bucket: string; keys: string[]; wildcard: boolean } | undefined {
  const { config } = step;
  const params = Object.fromEntries(Object.entries(pipeline.spec.params).map(([k, v]) => [k, v.default]));
  const run: RunRef = { pipelineId: pipeline.spec.id, pipelineVersion: pipeline.version, runId: '', logicalDate: new Date(0).toISOString(), params, runner: 'local' };
  let bucket: string;
  try {
    bucket = renderString(config.bucket, { run, xcom: {}, stepIds: [] });
  } catch {
    return undefined; // a bucket that depends on XCom cannot be matched before the run
  }
  return { bucket, keys: [config.key].flat(), wildcard: config.wildcard };
}

@Injectable()
export class EventsService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    private readonly pipelines: PipelinesService,
    private readonly runs: RunsService,
  ) {}

  async route(events: readonly S3ObjectEvent[]): Promise<EventsReply> {
    const outcomes: EventOutcome[] = [];
    let ignored = 0;
    for (const event of events) {
      const before = outcomes.length;
      for (const pipeline of this.pipelines.list()) {
        for (const step of pipeline.spec.steps) {
          if (step.kind !== 'sensor.s3Key' || step.map) continue;
          const target = sensorTargets(pipeline, step);
          if (!target || target.bucket !== event.bucket) continue;
          const dates = target.keys.map((k) => matchKeyTemplate(k, event.key, target.wildcard)).filter((d) => d !== undefined);
          if (dates.length === 0) continue;
          outcomes.push(await this.deliver(pipeline, step, event, dates[0] ?? null));
        }
      }
      if (outcomes.length === before) ignored++;
    }
    return { outcomes, ignored };
  }

  private async deliver(pipeline: Pipeline, step: StepOf<'sensor.s3Key'>, event: S3ObjectEvent, date: string | null): Promise<EventOutcome> {
    const base = { bucket: event.bucket, key: event.key, pipelineId: pipeline.spec.id, stepId: step.id, date };
    const open = await this.openRuns(pipeline.spec.id, date);
    if (open.length > 0) {
      await Promise.all(open.map((id) => this.client.workflow.getHandle(id).signal(s3ObjectEventSignal, event)));
      return { ...base, action: 'signalled', runIds: open };
    }
    if (!step.config.startRunOnEvent) return { ...base, action: 'no-open-run', runIds: [] };
    const logicalDate = date ? new Date(`${date}T00:00:00Z`) : new Date();
    const runId = `${pipeline.spec.id}-s3-${date ?? logicalDate.toISOString().slice(0, 10)}`;
    try {
      await this.runs.signalWithStart(pipeline.spec.id, runId, logicalDate, event);
      return { ...base, action: 'started', runIds: [runId] };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { ...base, action: 'already-ran', runIds: [runId] };
      throw err;
    }
  }

  /** Open runs of the pipeline whose logical date falls on `date` (any open run when the key carries no date). */
  private async openRuns(pipelineId: string, date: string | null): Promise<string[]> {
    const from = date ? new Date(`${date}T00:00:00Z`) : undefined;
    const query = runsQuery({ pipelineId, open: true, ...(from ? { logicalDate: { from, to: new Date(from.getTime() + DAY_MS) } } : {}) });
    const ids: string[] = [];
    for await (const wf of this.client.workflow.list({ query })) ids.push(wf.workflowId);
    return ids;
  }
}
