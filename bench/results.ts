/**
 * bench/results/latest.json: one flat JSON object of named figures. Each
 * benchmark merges its figures into it, so later benchmarks extend the file.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';

const RESULTS = path.resolve(__dirname, '..', '..', 'bench', 'results', 'latest.json');

/** The p-th percentile (nearest rank) of the samples, rounded to 0.1. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[rank] ?? 0) * 10) / 10;
}

/** A history event's time in epoch milliseconds. */
export function eventMillis(ts: temporal.api.history.v1.IHistoryEvent['eventTime']): number {
  return Number(ts?.seconds ?? 0) * 1000 + (ts?.nanos ?? 0) / 1e6;
}

export interface Target {
  target: number;
  better: 'lower' | 'higher';
}

/** Merges figures into latest.json and prints them as a table with their targets. */
export async function writeResults(figures: Record<string, number>, targets: Record<string, Target> = {}): Promise<void> {
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(await readFile(RESULTS, 'utf8')) as Record<string, unknown>;
  } catch {
    // First benchmark on this checkout.
  }
  const merged = {
    ...previous,
    ...figures,
    measured_at: new Date().toISOString(),
    machine_cpus: cpus().length,
    node_version: process.version,
  };
  await mkdir(path.dirname(RESULTS), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify(merged, null, 2)}\n`);
  console.log(`${formatResults(figures, targets)}\n(written to ${path.relative(process.cwd(), RESULTS)})`);
}

/** The figures as a table, each with its target and whether it meets it. */
export function formatResults(figures: Record<string, number>, targets: Record<string, Target> = {}): string {
  const rows = Object.entries(figures).map(([name, value]) => {
    const t = targets[name];
    const verdict = t ? ((t.better === 'lower' ? value <= t.target : value >= t.target) ? `meets ${t.better === 'lower' ? '≤' : '≥'} ${t.target}` : `MISSES ${t.target}`) : '';
    return `${name.padEnd(32)} ${String(value).padStart(10)}  ${verdict}`;
  });
  return rows.join('\n');
}
