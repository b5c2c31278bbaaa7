import { Module } from '@nestjs/common';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { RunsModule } from '../runs/runs.module';
import { EventsController } from './events.controller';
import { EventsTokenGuard } from './events.guard';
import { EventsService } from './events.service';

@Module({
  imports: [PipelinesModule, RunsModule],
  controllers: [EventsController],
  providers: [EventsService, EventsTokenGuard],
})
export class EventsModule {}
