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

/** An API answer: its status and its JSON body. */
export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** One JSON request to the API at `base`. */
export async function callApi(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
