/**
 * The body of `POST /pipelines/:id/runs`. Every field is optional; checks on
 * the shape live here, checks against the pipeline (its params) in the service.
 */
import { IsIn, IsISO8601, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { RUNNERS, type Runner } from '../../../pipeline';

/** What a caller may use as a run id: 1-200 letters, digits, `_`, `.`, `:` or `-`. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;


export class CreateRunDto {
  /** Overrides of the pipeline's param defaults, each of the default's JSON type. */
  @IsOptional()
  @IsObject({ message: 'params must be a JSON object of param name to value, like {"threshold": 0.9}' })
  params?: Record<string, unknown>;

  /** The date the run is for (`{{ ds }}`); defaults to now. */
  @IsOptional()
  @IsISO8601(
    { strict: true, strictSeparator: true },
    { message: 'logicalDate must be an ISO-8601 date or date-time, like 2026-03-01 or 2026-03-01T06:00:00Z' },
  )
  logicalDate?: string;

  /** Becomes the run id; a second request with the same key is refused with 409. */
  @IsOptional()
  @Matches(IDEMPOTENCY_KEY_PATTERN, { message: "idempotencyKey must be 1-200 characters of letters, digits, '_', '.', ':' or '-'" })
  @IsString({ message: 'idempotencyKey must be a string' })
  idempotencyKey?: string;

  /** How container steps run. @default the pipeline's runner, else TRAINYARD_DEFAULT_RUNNER, else 'local' */
  @IsOptional()
  @IsIn(RUNNERS, { message: "runner must be 'local' or 'kubernetes'" })
  runner?: Runner;

  /**
   * Who starts the run (until the API authenticates callers, the caller names itself): it is in the
   * run's state, and this identity may not approve the run's approval steps.
   */
  @IsOptional()
  @Matches(/\S/, { message: 'startedBy must name who starts the run, like alice@example.com (not blank)' })
  @MaxLength(200, { message: 'startedBy must be at most 200 characters' })
  @IsString({ message: 'startedBy must be a string: who starts the run, like alice@example.com' })
  startedBy?: string;
}
