/**
 * Maps the Temporal client's errors that mean something to an API caller onto
 * HTTP: a workflow id already taken is 409, an unknown workflow is 404.
 * Everything else falls through to Nest's default handling.
 */
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';

@Injectable()
@Catch(WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError)
export class TemporalExceptionFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(err: WorkflowExecutionAlreadyStartedError | WorkflowNotFoundError, host: ArgumentsHost): void {
    const response: unknown = host.switchToHttp().getResponse();
    const { httpAdapter } = this.adapterHost;
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      const body = { statusCode: HttpStatus.CONFLICT, error: 'Conflict', message: `a run with id '${err.workflowId}' already exists`, runId: err.workflowId };
      httpAdapter.reply(response, body, HttpStatus.CONFLICT);
      return;
    }
    const body = { statusCode: HttpStatus.NOT_FOUND, error: 'Not Found', message: `no run with id '${err.workflowId}'`, runId: err.workflowId };
    httpAdapter.reply(response, body, HttpStatus.NOT_FOUND);
  }
}
