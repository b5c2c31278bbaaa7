/**
 * `POST /pipelines/:id/runs` starts a run; `GET /runs` lists runs; `GET /runs/:runId` reads a
 * run's state, running or closed; `POST /runs/:runId/cancel` stops it;
 * `GET /runs/:runId/steps/:stepId/trials[/:index]` reads a mapped step's indices.
 */
import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import type { MapStateView, TrialStateView } from '../../contract';
import type { RunState } from '../../contract';
import { CreateRunDto } from './dto/create-run.dto';
import { ListRunsDto, type RunsPage } from './dto/list-runs.dto';
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

  @Get('runs')
  list(@Query() query: ListRunsDto): Promise<RunsPage> {
    return this.runs.list(query);
  }

  @Post('runs/:runId/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  cancel(@Param('runId') runId: string): Promise<{ runId: string; cancelRequested: true }> {
    return this.runs.cancel(runId);
  }

  @Get('runs/:runId')
  get(@Param('runId') runId: string): Promise<RunState> {
    return this.runs.state(runId);
  }

  @Get('runs/:runId/steps/:stepId/trials')
  trials(@Param('runId') runId: string, @Param('stepId') stepId: string): Promise<MapStateView> {
    return this.runs.mapState(runId, stepId);
  }

  @Get('runs/:runId/steps/:stepId/trials/:index')
  trial(@Param('runId') runId: string, @Param('stepId') stepId: string, @Param('index', ParseIntPipe) index: number): Promise<TrialStateView> {
    return this.runs.trial(runId, stepId, index);
  }
}
