/** The root module: Temporal wiring, the feature modules and the error mapping. */
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TemporalExceptionFilter } from './common/temporal-exception.filter';
import { EventsModule } from './events/events.module';
import { PipelinesModule } from './pipelines/pipelines.module';
import { RunsModule } from './runs/runs.module';
import { TemporalModule, type TemporalModuleOptions } from './temporal/temporal.module';

@Module({})
export class AppModule {
  static forRoot(options: TemporalModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [TemporalModule.forRoot(options), PipelinesModule, RunsModule, EventsModule],
      providers: [{ provide: APP_FILTER, useClass: TemporalExceptionFilter }],
    };
  }
}
