/**
 * `process`: a command run as a local subprocess; its XCom is the JSON it writes
 * to `$TRAINYARD_XCOM_PATH`.
 *
 *   const extract = p.process('extract', { command: ['python', 'extract.py', '--date', '{{ ds }}'] });
 */
import type { Json } from '../types';
import type { StepHandle, StepOptions } from '../builder';
import { type CompileContext, defineKind, isStringArray } from './kind';

export interface ProcessConfig {
  command: string[];
  cwd?: string;
  env?: Record<string, string>;
}

export const processKind = defineKind({
  method: 'process',
  build: (adder) =>
    <T = Json>(id: string, config: ProcessConfig, opts?: StepOptions): StepHandle<T> => adder.add<T>('process', id, config, opts),
  compile(config: ProcessConfig, ctx: CompileContext): ProcessConfig {
    if (!isStringArray(config.command) || config.command.length === 0) {
      ctx.problems.push(`${ctx.where}: command must be a non-empty list of strings, e.g. ['python', 'train.py']`);
    }
    if (config.cwd !== undefined && typeof config.cwd !== 'string') ctx.problems.push(`${ctx.where}: cwd must be a directory path`);
    if (config.env !== undefined) {
      if (config.env === null || typeof config.env !== 'object' || Array.isArray(config.env)) {
        ctx.problems.push(`${ctx.where}: env must be an object of variable name to value, e.g. { MODE: 'fast' }`);
      } else {
        for (const [name, value] of Object.entries(config.env)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) ctx.problems.push(`${ctx.where}: env '${name}' is not a variable name`);
          else if (typeof value !== 'string') ctx.problems.push(`${ctx.where}: env '${name}' must be a string`);
        }
      }
    }
    return config;
  },
});
