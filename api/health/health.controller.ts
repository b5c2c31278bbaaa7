/**
 * `GET /health`: the process serves (liveness; it asks nothing else).
 * `GET /ready`: it can do its work: Temporal answers, and some worker polls the
 * task queue runs start on. 503 with what is down when it cannot.
 */
import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { Client } from '@temporalio/client';
import { TASK_QUEUE, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';

/** How long each readiness check may take. */
const CHECK_TIMEOUT_MS = 3_000;
const TASK_QUEUE_TYPE_WORKFLOW = 1;
/**
 * A poller seen within this long counts as alive: a worker's long poll lasts up to a minute,
 * and Temporal lists a stopped worker's poller for minutes after its last poll.
 */
const POLLER_FRESH_MS = 90_000;

@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(TASK_QUEUE) private readonly taskQueue: string,
  ) {}

  @Get('health')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.temporal(), () => this.pollers()]);
  }

  private async temporal() {
    const check = this.indicators.check('temporal');
    try {
      await this.client.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => this.client.workflowService.getSystemInfo({}));
      return check.up({ namespace: this.client.options.namespace });
    } catch (err) {
      return check.down({ message: `Temporal does not answer: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  private async pollers() {
    const check = this.indicators.check('worker');
    try {
      const described = await this.client.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
        this.client.workflowService.describeTaskQueue({
          namespace: this.client.options.namespace,
          taskQueue: { name: this.taskQueue },
          taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
        }),
      );
      const now = Date.now();
      const pollers = (described.pollers ?? []).filter((p) => {
        const seen = p.lastAccessTime ? Number(p.lastAccessTime.seconds ?? 0) * 1000 : 0;
        return now - seen < POLLER_FRESH_MS;
      }).length;
      if (pollers > 0) return check.up({ taskQueue: this.taskQueue, pollers });
      return check.down({ taskQueue: this.taskQueue, pollers, message: `no worker polls task queue '${this.taskQueue}'; start one (npm run worker)` });
    } catch (err) {
      return check.down({ taskQueue: this.taskQueue, message: `cannot read task queue '${this.taskQueue}': ${err instanceof Error ? err.message : String(err)}` });
    }
  }
}
