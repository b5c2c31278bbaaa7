/** `GET /pipelines`, `GET /pipelines/:id` and `GET /pipelines/:id/graph`: what can be run, its spec and its graph. */
import { Controller, Get, Param } from '@nestjs/common';
import { type PipelineGraph, type PipelineSpec, type Runner, graphOf } from '../../pipeline';
import { PipelinesService } from './pipelines.service';

export interface PipelineSummary {
  id: string;
  version: string;
  /** Cron expression or preset; null for pipelines that only run when asked. */
  schedule: string | null;
  /** The runner the pipeline names for its container steps; null: the deployment's default. */
  runner: Runner | null;
  stepCount: number;
  description?: string;
}

export interface PipelineDetail {
  id: string;
  version: string;
  spec: PipelineSpec;
}

@Controller('pipelines')
export class PipelinesController {
  constructor(private readonly pipelines: PipelinesService) {}

  @Get()
  list(): PipelineSummary[] {
    return this.pipelines.list().map(({ spec, version }) => ({
      id: spec.id,
      version,
      schedule: spec.schedule ?? null,
      runner: spec.runner ?? null,
      stepCount: spec.steps.length,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
    }));
  }

  @Get(':id/graph')
  graph(@Param('id') id: string): PipelineGraph & { id: string; version: string } {
    const { spec, version } = this.pipelines.get(id);
    return { id: spec.id, version, ...graphOf(spec) };
  }

  @Get(':id')
  get(@Param('id') id: string): PipelineDetail {
    const { spec, version } = this.pipelines.get(id);
    return { id: spec.id, version, spec };
  }
}
