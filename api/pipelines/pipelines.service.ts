/** Looks pipelines up in the registry the worker also loads. */
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Pipeline } from '../../pipeline';
import type { PipelineRegistry } from '../../worker/registry';
import { PIPELINE_REGISTRY } from '../temporal/temporal.tokens';

@Injectable()
export class PipelinesService {
  constructor(@Inject(PIPELINE_REGISTRY) private readonly registry: PipelineRegistry) {}

  list(): Pipeline[] {
    return [...this.registry.pipelines.values()];
  }

  /** The registered pipeline, or a 404 that lists the ids that are registered. */
  get(id: string): Pipeline {
    const found = this.registry.pipelines.get(id);
    if (!found) {
      const known = [...this.registry.pipelines.keys()].join(', ') || '(none)';
      throw new NotFoundException(`pipeline '${id}' is not registered; registered: ${known}`);
    }
    return found;
  }
}
