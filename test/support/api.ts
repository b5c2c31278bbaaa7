/** The HTTP API for tests: built around the test's client and registry, listening on a free loopback port. */
import type { INestApplication } from '@nestjs/common';
import { type AppDeps, createApp } from '../../api';

export async function startApi(deps: AppDeps): Promise<{ app: INestApplication; base: string }> {
  const app = await createApp(deps);
  try {
    await app.listen(0, '127.0.0.1');
  } catch (err) {
    await app.close();
    throw err;
  }
  return { app, base: await app.getUrl() };
}
