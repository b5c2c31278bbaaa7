/** Run parameters: a run's values over the pipeline's defaults, checked by type. */
import type { Json, PipelineSpec } from './types';

function jsonType(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Merges given params over the defaults; problems name the param and the fix. */
export function resolveParams(spec: PipelineSpec, given: Record<string, unknown> = {}): { params: Record<string, Json>; problems: string[] } {
  const params: Record<string, Json> = Object.fromEntries(Object.entries(spec.params).map(([k, p]) => [k, p.default]));
  const problems: string[] = [];
  for (const [name, value] of Object.entries(given)) {
    // Own keys only: 'toString' or 'constructor' is no declared param.
    const declared = Object.hasOwn(spec.params, name) ? spec.params[name] : undefined;
    if (!declared) {
      problems.push(`params.${name} is not a param of '${spec.id}'; declared: ${Object.keys(spec.params).join(', ') || '(none)'}`);
      continue;
    }
    const want = jsonType(declared.default);
    const got = jsonType(value as Json);
    if (want !== 'null' && want !== got) {
      problems.push(`params.${name} must be a ${want} like its default ${JSON.stringify(declared.default)}, not ${JSON.stringify(value)}`);
      continue;
    }
    params[name] = value as Json;
  }
  return { params, problems };
}
