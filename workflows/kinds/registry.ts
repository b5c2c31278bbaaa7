/** The registry steps' tries: one activity each, with the config as rendered. */
import type { TryRunner } from './try';

export const registerModelTry: TryRunner<'registerModel'> = ({ config, ref, acts }) => acts.registerModel({ ...ref, ...config });
export const compareBaselineTry: TryRunner<'compareBaseline'> = ({ config, ref, acts }) => acts.compareBaseline({ ...ref, ...config });
export const promoteTry: TryRunner<'promote'> = ({ config, ref, acts }) => acts.promoteModel({ ...ref, ...config });
