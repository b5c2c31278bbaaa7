/**
 * How a trial reports intermediate metrics: it prints one line per evaluation,
 *
 *   trainyard.metric {"step": 3, "val_accuracy": 0.91, "loss": 0.3}
 *
 * and the runner picks these lines out of its output for early stopping.
 * Anything else on the output is left alone, so parsing is tolerant: a line
 * that is not a metric line, or a metric line without a usable step, is simply
 * not a metric (undefined). Keys whose values are not finite numbers (a string
 * tag, a boolean) are dropped and the numeric ones kept, so one odd field does
 * not cost the whole evaluation.
 *
 * Note that Python's json.dumps writes NaN and Infinity, which are not JSON;
 * such a line is not parsed. Report with allow_nan=False or leave those out.
 */

export const METRIC_LINE_PREFIX = 'trainyard.metric ';

export interface MetricLine {
  /** A whole number >= 0: epoch, iteration, whatever the trial counts in. */
  step: number;
  /** The numeric metrics of the line, `step` excluded. */
  values: Record<string, number>;
}

/** The metrics of one output line, or undefined when the line is not a usable metric line. */
export function parseMetricLine(line: string): MetricLine | undefined {
  const text = line.trimStart();
  if (!text.startsWith(METRIC_LINE_PREFIX)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(METRIC_LINE_PREFIX.length));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { step, ...rest } = parsed as Record<string, unknown>;
  if (!Number.isSafeInteger(step) || (step as number) < 0) return undefined;
  // fromEntries defines own properties, so a metric named '__proto__' stays a plain key.
  const values = Object.fromEntries(
    Object.entries(rest).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1])),
  );
  return { step: step as number, values };
}
