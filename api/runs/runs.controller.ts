/** `POST /pipelines/:id/runs` starts a run; `GET /runs/:runId` reads its state. */
import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import type { RunState } from '../../workflows/definitions';
import { CreateRunDto } from './dto/create-run.dto';
import type { RunCreated } from './dto/run-created';
import { RunsService } from './runs.service';

@Controller()
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Post('pipelines/:id/runs')
  @HttpCode(HttpStatus.CREATED)
  create(@Param('id') pipelineId: string, @Body() body: CreateRunDto): Promise<RunCreated> {
    return this.runs.start(pipelineId, body);
  }

  @Get('runs/:runId')
  get(@Param('runId') runId: string): Promise<RunState> {
    return this.runs.state(runId);
  }
}
