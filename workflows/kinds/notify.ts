/** A `notify` try: one POST to the webhook. */
import type { TryRunner } from './try';

export const notifyTry: TryRunner<'notify'> = ({ config, ref, acts }) => acts.notify({ ...ref, ...config });
