/** The root module: Temporal wiring, the feature modules (runs, pipelines, approvals, health, the codec endpoints) and the error mapping. */
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApprovalsModule } from './approvals/approvals.module';
import { CodecModule, type CodecModuleOptions } from './codec/codec.module';
import { TemporalExceptionFilter } from './common/temporal-exception.filter';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { PipelinesModule } from './pipelines/pipelines.module';
import { RunsModule } from './runs/runs.module';
import { TemporalModule, type TemporalModuleOptions } from './temporal/temporal.module';

@Module({})
export class AppModule {
  static forRoot(options: TemporalModuleOptions & CodecModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [TemporalModule.forRoot(options), PipelinesModule, RunsModule, EventsModule, ApprovalsModule, HealthModule, CodecModule.forRoot(options)],
      providers: [{ provide: APP_FILTER, useClass: TemporalExceptionFilter }],
    };
  }
}
