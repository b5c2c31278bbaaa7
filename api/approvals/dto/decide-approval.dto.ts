/**
 * The body of `POST /runs/:runId/steps/:stepId/approval`: the decision, the
 * exact model version it is about (a decision on another version than the step
 * waits on is refused), and who decides.
 */
import { IsIn, IsOptional, IsString, Matches, MaxLength, ValidateBy } from 'class-validator';

export const APPROVAL_DECISIONS = ['approve', 'reject'] as const;
export type ApprovalDecisionVerb = (typeof APPROVAL_DECISIONS)[number];

/** A model version: a whole number ≥ 1, or non-blank text (`'4'`). */
function IsModelVersion(): PropertyDecorator {
  return ValidateBy({
    name: 'isModelVersion',
    validator: {
      validate: (value: unknown) => (typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isInteger(value) && value >= 1),
      defaultMessage: () => 'version is required: the model version you reviewed, like 4 or "4" (GET /approvals shows the one each step waits on)',
    },
  });
}

export class DecideApprovalDto {
  @IsIn(APPROVAL_DECISIONS, { message: "decision must be 'approve' or 'reject'" })
  decision!: ApprovalDecisionVerb;

  /** The registered model the step waits on. */
  @Matches(/\S/, { message: 'modelName is required: the registered model the step waits on (GET /approvals shows it)' })
  @IsString({ message: 'modelName must be a string: the registered model the step waits on' })
  modelName!: string;

  @IsModelVersion()
  version!: string | number;

  /** Who decides. Required until the API authenticates callers; the run's starter may not approve. */
  @Matches(/\S/, { message: 'approver is required: who decides, like alice@example.com' })
  @MaxLength(200, { message: 'approver must be at most 200 characters' })
  @IsString({ message: 'approver must be a string: who decides, like alice@example.com' })
  approver!: string;

  /** Why; recorded with the decision. */
  @IsOptional()
  @MaxLength(4000, { message: 'comment must be at most 4000 characters' })
  @IsString({ message: 'comment must be a string' })
  comment?: string;
}
