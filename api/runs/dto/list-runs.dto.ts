/** The query of `GET /runs` and the page it answers. */
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsISO8601, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export const RUN_STATES = ['running', 'success', 'failed', 'cancelled'] as const;

export class ListRunsDto {
  /** Only runs of this pipeline. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.-]{1,200}$/, { message: "pipeline must be a pipeline id: 1-200 letters, digits, '_', '.' or '-'" })
  pipeline?: string;

  @IsOptional()
  @IsIn(RUN_STATES, { message: `state must be one of ${RUN_STATES.join(', ')}` })
  state?: (typeof RUN_STATES)[number];

  /** Logical dates from this one (inclusive). */
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO-8601 date or date-time, like 2026-03-01' })
  from?: string;

  /** Logical dates before this one. */
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO-8601 date or date-time, like 2026-03-08' })
  to?: string;

  /** Only runs waiting for an approval (true), or runs with approval steps none of which waits (false). */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'awaitingApproval must be true or false' })
  awaitingApproval?: boolean;

  /** Runs per page. @default 50 */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))
  @IsInt({ message: 'limit must be a whole number from 1 to 1000' })
  @Min(1, { message: 'limit must be a whole number from 1 to 1000' })
  @Max(1000, { message: 'limit must be a whole number from 1 to 1000' })
  limit?: number;

  /** The previous page's `nextCursor`. */
  @IsOptional()
  @IsString({ message: 'cursor must be the nextCursor of the previous page' })
  @MaxLength(4096, { message: 'cursor must be the nextCursor of the previous page' })
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor must be the nextCursor of the previous page' })
  cursor?: string;
}

export interface RunSummary {
  runId: string;
  pipelineId: string | null;
  pipelineVersion: string | null;
  state: string;
  logicalDate: string | null;
  startedAt: string;
  endedAt: string | null;
  awaitingApproval: boolean;
  links: { self: string };
}

export interface RunsPage {
  runs: RunSummary[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}
