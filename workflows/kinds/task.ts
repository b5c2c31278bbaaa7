/** A `task` try: the registered TypeScript function, as an activity. */
import type { TryRunner } from './try';

export const taskTry: TryRunner<'task'> = ({ config, ref, acts, timeoutMs }) => acts.runTask({ ...ref, fn: config.fn, args: config.args, timeoutMs });
