/**
 * `GET /approvals` lists the approval steps waiting for a decision, across runs;
 * `POST /runs/:runId/steps/:stepId/approval` approves or rejects one.
 */
import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import type { ApprovalResult } from '../../contract';
import { ApprovalsService } from './approvals.service';
import { DecideApprovalDto } from './dto/decide-approval.dto';
import type { PendingApproval } from './dto/pending-approval';

@Controller()
export class ApprovalsController {
  constructor(private readonly approvals: ApprovalsService) {}

  @Get('approvals')
  list(): Promise<PendingApproval[]> {
    return this.approvals.pending();
  }

  @Post('runs/:runId/steps/:stepId/approval')
  @HttpCode(HttpStatus.OK)
  decide(@Param('runId') runId: string, @Param('stepId') stepId: string, @Body() body: DecideApprovalDto): Promise<ApprovalResult> {
    return this.approvals.decide(runId, stepId, body);
  }
}
