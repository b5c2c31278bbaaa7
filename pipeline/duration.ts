/** Durations written the way people write them: `250ms`, `30s`, `5m`, `4h`, `1d`, `1h30m`. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** Parses a duration to milliseconds, or returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let match = PART.exec(trimmed); match; match = PART.exec(trimmed)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
    consumed = PART.lastIndex;
  }
  if (consumed !== trimmed.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

/** Formats milliseconds compactly, for messages and tables. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  // Round to whole seconds first, so 119.7s carries into '2m' rather than reading '1m60s'.
  const totalSeconds = Math.round(ms / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  return minutes < 60 ? `${minutes}m${seconds ? `${seconds}s` : ''}` : `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}
