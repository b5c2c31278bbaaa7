/** Graph helpers over a pipeline's steps: followers, ancestors, cycles, leaves. */
import type { StepBase } from './types';

/** What the graph functions read of a step. */
type Node = Pick<StepBase, 'id' | 'upstream'>;

/** Direct followers of every step. */
export function followersOf(steps: readonly Node[]): Map<string, string[]> {
  const followers = new Map<string, string[]>(steps.map((s) => [s.id, []]));
  for (const step of steps) {
    for (const up of step.upstream) followers.get(up)?.push(step.id);
  }
  return followers;
}

/** One cycle as a path that starts and ends on the same step, or undefined if the graph is acyclic. */
export function findCycle(steps: readonly Node[]): string[] | undefined {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const colour = new Map<string, 'grey' | 'black'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (colour.get(id) === 'black') return undefined;
    if (colour.get(id) === 'grey') return [...path.slice(path.indexOf(id)), id];
    colour.set(id, 'grey');
    path.push(id);
    for (const up of byId.get(id)?.upstream ?? []) {
      if (!byId.has(up)) continue;
      const cycle = visit(up);
      if (cycle) return cycle;
    }
    path.pop();
    colour.set(id, 'black');
    return undefined;
  };
  for (const step of steps) {
    const cycle = visit(step.id);
    // Paths follow upstream edges; reverse so the cycle reads in run order.
    if (cycle) return cycle.reverse();
  }
  return undefined;
}

/** All transitive upstreams of a step (the graph must be acyclic). */
export function ancestorsOf(stepId: string, steps: readonly Node[]): Set<string> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const stack = [...(byId.get(stepId)?.upstream ?? [])];
  while (stack.length) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(byId.get(id)?.upstream ?? []));
  }
  return seen;
}

/** Steps nobody depends on: their states decide the run's. */
export function leavesOf(steps: readonly Node[]): string[] {
  const followers = followersOf(steps);
  return steps.filter((s) => (followers.get(s.id) ?? []).length === 0).map((s) => s.id);
}
