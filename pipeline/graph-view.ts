/**
 * A pipeline's graph as plain JSON, for the API and the pages: one node per step,
 * one edge per upstream link, one box per group (nested groups name their parent),
 * and for a mapped step what it maps over.
 *
 *   graphOf(spec).edges   // [{ from: 'extract', to: 'train' }, ...]
 */
import { isXComRef } from './template';
import type { PipelineSpec, TriggerRule } from './types';

export interface GraphNode {
  id: string;
  kind: string;
  group: string | null;
  triggerRule: TriggerRule;
  /** For a mapped step: how it fans out. */
  map: { mode: 'product' | 'zip'; keys: string[]; fromUpstream: string[]; maxActive: number | null; maxMapLength: number | null } | null;
}

export interface GraphGroup {
  id: string;
  parent: string | null;
  /** The steps directly in this group. */
  steps: string[];
}

export interface PipelineGraph {
  nodes: GraphNode[];
  edges: { from: string; to: string }[];
  groups: GraphGroup[];
}

/** Step ids a map's sources read from (XCom references), in order, once each. */
function refsIn(value: unknown, found: Set<string>): void {
  if (isXComRef(value)) found.add(value.$xcom);
  else if (Array.isArray(value)) for (const v of value) refsIn(v, found);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) refsIn(v, found);
}

export function graphOf(spec: PipelineSpec): PipelineGraph {
  const groups = new Map<string, GraphGroup>();
  const groupOf = (id: string): GraphGroup => {
    let group = groups.get(id);
    if (!group) {
      const cut = id.lastIndexOf('.');
      const parent = cut > 0 ? id.slice(0, cut) : null;
      if (parent !== null) groupOf(parent);
      group = { id, parent, steps: [] };
      groups.set(id, group);
    }
    return group;
  };
  const nodes = spec.steps.map((step): GraphNode => {
    if (step.group !== undefined) groupOf(step.group).steps.push(step.id);
    let map: GraphNode['map'] = null;
    if (step.map) {
      const { expand } = step.map;
      const keyed = !Array.isArray(expand) && !isXComRef(expand);
      const fromUpstream = new Set<string>();
      refsIn(expand, fromUpstream);
      map = {
        mode: step.map.mode ?? 'product',
        keys: keyed ? Object.keys(expand) : [],
        fromUpstream: [...fromUpstream],
        maxActive: step.map.maxActive ?? null,
        maxMapLength: step.map.maxMapLength ?? null,
      };
    }
    return { id: step.id, kind: step.kind, group: step.group ?? null, triggerRule: step.triggerRule, map };
  });
  const edges = spec.steps.flatMap((step) => step.upstream.map((from) => ({ from, to: step.id })));
  return { nodes, edges, groups: [...groups.values()] };
}
