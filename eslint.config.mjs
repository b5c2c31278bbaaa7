// Type-checked linting for all TypeScript, plus the determinism boundary of workflows/.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const notWorkflows = { group: ['**/workflows', '**/workflows/*', '**/workflows/**'], message: 'Import the run contract (contract/), not a file of workflows/.' };

export default tseslint.config(
  // examples/external-project is a separate package, compiled against the installed one by its own test.
  { ignores: ['dist/**', '.build/**', 'node_modules/**', '.trainyard/**', 'eslint.config.mjs', 'examples/external-project/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Clients of a run know it by its contract (contract/), never by the workflow code that runs it.
    files: ['activities/**/*.ts', 'api/**/*.ts', 'worker/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'harness/**/*.ts', 'test/**/*.ts', 'codec/**/*.ts', 'examples/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [notWorkflows] }] },
  },
  {
    // Benchmarks share servers and workers with tests through harness/, never by reaching into test/
    // (and the harness itself depends on no test). Restating notWorkflows: a later block replaces the rule's options.
    files: ['bench/**/*.ts', 'harness/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [notWorkflows, { group: ['**/test', '**/test/**'], message: 'Benchmarks and the harness import harness/ (and product code), never test/.' }] },
      ],
    },
  },
  {
    // Workflow code is replayed: no I/O, no Node built-ins, activities as types only.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows are deterministic: do I/O in an activity.' })),
          patterns: [
            { group: ['@kubernetes/client-node', '@aws-sdk/*'], message: 'Workflows do no I/O: call an activity.' },
            { group: ['**/activities', '**/activities/*'], allowTypeImports: true, message: 'Import activities as types only.' },
            { group: ['**/worker', '**/worker/*', '**/api', '**/api/*'], message: 'Workflows import only pipeline/ and workflows/.' },
            { group: ['**/codec', '**/codec/*'], message: 'The SDK applies the payload codec outside the sandbox; workflows never import it.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'process', 'fetch'],
    },
  },
);
