/** MLflow in tests: the harness's tracking server, one per test file. */
export { type TestMlflow, startTestMlflow } from '../../harness';
