/** A `pod` try: a pod on Kubernetes, or `cmds + arguments` as a process in the image's local directory. */
import type { TryRunner } from './try';

export const podTry: TryRunner<'pod'> = ({ config, ref, acts, timeoutMs }) =>
  ref.run.runner === 'kubernetes'
    ? acts.runPod({ ...ref, config, timeoutMs })
    : acts.runProcess({
        ...ref,
        image: config.image,
        command: [...(config.cmds ?? []), ...(config.arguments ?? [])],
        env: config.env ?? [],
        timeoutMs,
      });
