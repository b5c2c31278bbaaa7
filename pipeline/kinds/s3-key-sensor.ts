/**
 * `sensor.s3Key`: waits for objects in S3 (Airflow's S3KeySensor).
 *
 *   const data = p.s3KeySensor('wait_for_data', { bucket: 'ml-datasets', key: 'daily/{{ ds }}/features.parquet',
 *     mode: 'reschedule', pokeInterval: '5m', timeout: '6h' });
 */
import type { StepHandle, StepOptions } from '../builder';
import { type CompiledSensorTiming, type SensorTiming, compileTiming, s3KeySensorProblems } from '../sensors';
import { type CompileContext, defineKind, orDefault } from './kind';

/**
 * `key` is templated (`daily/{{ ds }}/features.parquet`); with `wildcard`, `*`, `?` and
 * `[...]` match as in shell globs (`*` also crosses `/`). Its XCom is `S3KeyMatches`.
 */
export interface S3KeySensorConfig extends SensorTiming {
  bucket: string;
  /** One key, or several that must all be there. */
  key: string | string[];
  /** Treat the key as a glob. @default false */
  wildcard?: boolean;
  /** Only objects of at least this many bytes count. @default 0 (any, even empty) */
  minSize?: number;
  /**
   * An S3 event for a key this sensor matches (POST /events/s3) starts a run of the pipeline
   * for the date in the key when no run for that date is waiting. @default false
   */
  startRunOnEvent?: boolean;
}

export type CompiledS3KeySensorConfig = S3KeySensorConfig &
  CompiledSensorTiming &
  Required<Pick<S3KeySensorConfig, 'wildcard' | 'minSize' | 'startRunOnEvent'>>;

/** An s3Key sensor's XCom. */
export interface S3KeyMatches {
  bucket: string;
  matches: { key: string; size: number; etag: string; lastModified: string }[];
}

export const s3KeySensorKind = defineKind({
  method: 's3KeySensor',
  build: (adder) =>
    (id: string, config: S3KeySensorConfig, opts?: StepOptions): StepHandle<S3KeyMatches> => adder.add('sensor.s3Key', id, config, opts),
  compile(config: S3KeySensorConfig, ctx: CompileContext): CompiledS3KeySensorConfig {
    ctx.problems.push(...s3KeySensorProblems(config, ctx.where));
    return {
      ...config,
      ...compileTiming(config),
      wildcard: orDefault(config.wildcard, false),
      minSize: orDefault(config.minSize, 0),
      startRunOnEvent: orDefault(config.startRunOnEvent, false),
    };
  },
});
