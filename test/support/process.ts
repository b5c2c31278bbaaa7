/** Child processes in tests: the harness's entry-point processes, and whether a process still lives. */
import { readFileSync } from 'node:fs';

export { type NodeProcess, exitCode, spawnNode } from '../../harness';

/** True while the process exists and is not a zombie waiting to be reaped. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const afterName = stat.lastIndexOf(')') + 2;
    return stat.slice(afterName, afterName + 1) !== 'Z';
  } catch {
    return false;
  }
}
