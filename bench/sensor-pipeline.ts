/**
 * The sensor benchmark's pipeline: one reschedule-mode s3Key sensor whose key
 * comes from the run's `n` param, so each run waits for its own object. The
 * worker process loads this module (TRAINYARD_PIPELINES=bench/sensor-pipeline.js);
 * the benchmark starts runs with `sensorBenchPipeline(interval)`'s spec, which
 * carries the poke interval it chose (the spec travels in each run's input).
 */
import { type Pipeline, pipeline as definePipeline } from '../pipeline';

export const SENSOR_BENCH_BUCKET = 'bench-sensors';
export const SENSOR_BENCH_STEP = 'wait_for_key';

/** The object run `n` waits for. */
export const sensorBenchKey = (n: number): string => `bench/${n}.flag`;

export function sensorBenchPipeline(pokeInterval: string): Pipeline {
  return definePipeline({ id: 'bench_sensors', params: { n: 0 } }, (p) => {
    p.s3KeySensor(SENSOR_BENCH_STEP, {
      bucket: SENSOR_BENCH_BUCKET,
      key: 'bench/{{ params.n }}.flag',
      mode: 'reschedule',
      pokeInterval,
      timeout: '3h',
    });
  });
}

export const pipeline = sensorBenchPipeline('60s');
