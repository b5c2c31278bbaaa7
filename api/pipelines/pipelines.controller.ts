/** `GET /pipelines` and `GET /pipelines/:id`: what can be run, and its spec. */
import { Controller, Get, Param } from '@nestjs/common';
import type { PipelineSpec } from '../../pipeline';
import { PipelinesService } from './pipelines.service';

export interface PipelineSummary {
  id: string;
  version: string;
  /** Cron expression or preset; null for pipelines that only run when asked. */
  schedule: string | null;
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
      stepCount: spec.steps.length,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
    }));
  }

  @Get(':id')
  get(@Param('id') id: string): PipelineDetail {
    const { spec, version } = this.pipelines.get(id);
    return { id: spec.id, version, spec };
  }
}
