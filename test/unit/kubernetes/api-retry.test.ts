import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { isTransient, statusOf, withApiRetry } from '../../../activities/kubernetes/api-retry';

/** An error shaped like the client's ApiException: numeric `code`, optional headers. */
function apiError(code: number, headers?: Record<string, string>): Error & { code: number; headers?: Record<string, string> } {
  return Object.assign(new Error(`HTTP ${code}`), { code, ...(headers ? { headers } : {}) });
}

/** A network failure, with its code on the error itself or on its cause (as fetch reports it). */
function networkError(code: string, where: 'own' | 'cause'): Error {
  return where === 'own'
    ? Object.assign(new Error(`connect ${code}`), { code })
    : new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
}

/** A call that throws the given errors in turn, then returns 'ok'; it records when each try began. */
function scripted(errors: Error[]): { call: () => Promise<string>; times: number[] } {
  const times: number[] = [];
  let index = 0;
  const call = (): Promise<string> => {
    times.push(performance.now());
    const err = errors[index++];
    return err === undefined ? Promise.resolve('ok') : Promise.reject(err);
  };
  return { call, times };
}

const fast = { baseDelayMs: 1, maxDelayMs: 5 };

describe('statusOf', () => {
  it('reads a numeric code', () => {
    assert.equal(statusOf(apiError(404)), 404);
    assert.equal(statusOf({ code: 503 }), 503);
  });

  it('is undefined for string codes and errors without one', () => {
    assert.equal(statusOf(networkError('ECONNRESET', 'own')), undefined);
    assert.equal(statusOf(new Error('plain')), undefined);
    assert.equal(statusOf({ code: '404' }), undefined);
    assert.equal(statusOf('text'), undefined);
  });

  it('does not throw for null or undefined', () => {
    assert.equal(statusOf(undefined), undefined);
    assert.equal(statusOf(null), undefined);
  });
});

describe('isTransient', () => {
  for (const code of [429, 500, 502, 503, 504]) {
    it(`retries HTTP ${code}`, () => assert.equal(isTransient(apiError(code)), true));
  }

  for (const code of [400, 401, 403, 404, 409, 410, 422]) {
    it(`does not retry HTTP ${code}`, () => assert.equal(isTransient(apiError(code)), false));
  }

  for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET']) {
    it(`retries ${code} on the error`, () => assert.equal(isTransient(networkError(code, 'own')), true));
    it(`retries ${code} on the cause`, () => assert.equal(isTransient(networkError(code, 'cause')), true));
  }

  it('does not retry other errors', () => {
    assert.equal(isTransient(new Error('bad input')), false);
    assert.equal(isTransient(networkError('ENOENT', 'own')), false);
    assert.equal(isTransient(networkError('ERR_INVALID_URL', 'cause')), false);
    assert.equal(isTransient(new TypeError('fetch failed', { cause: new Error('no code') })), false);
    assert.equal(isTransient('ECONNRESET'), false);
  });

  it('does not throw for null or undefined', () => {
    assert.equal(isTransient(undefined), false);
    assert.equal(isTransient(null), false);
  });
});

describe('withApiRetry', () => {
  it('returns the first answer without retrying', async () => {
    const { call, times } = scripted([]);
    assert.equal(await withApiRetry(call, fast), 'ok');
    assert.equal(times.length, 1);
  });

  for (const code of [429, 500, 503]) {
    it(`retries HTTP ${code} until it succeeds`, async () => {
      const { call, times } = scripted([apiError(code), apiError(code)]);
      assert.equal(await withApiRetry(call, fast), 'ok');
      assert.equal(times.length, 3);
    });
  }

  for (const where of ['own', 'cause'] as const) {
    it(`retries a dropped connection (code on the ${where === 'own' ? 'error' : 'cause'})`, async () => {
      const { call, times } = scripted([networkError('ECONNRESET', where), networkError('ECONNREFUSED', where)]);
      assert.equal(await withApiRetry(call, fast), 'ok');
      assert.equal(times.length, 3);
    });
  }

  it('gives up after the given number of tries with the last error', async () => {
    const errors = [apiError(503), apiError(502), apiError(500), apiError(504)];
    const { call, times } = scripted(errors);
    await assert.rejects(withApiRetry(call, { ...fast, attempts: 3 }), (err) => err === errors[2]);
    assert.equal(times.length, 3);
  });

  it('tries five times by default', async () => {
    const { call, times } = scripted(Array.from({ length: 10 }, () => apiError(503)));
    await assert.rejects(withApiRetry(call, { baseDelayMs: 1, maxDelayMs: 2 }), { code: 503 });
    assert.equal(times.length, 5);
  });

  it('tries once with attempts: 1', async () => {
    const { call, times } = scripted([apiError(503)]);
    await assert.rejects(withApiRetry(call, { ...fast, attempts: 1 }), { code: 503 });
    assert.equal(times.length, 1);
  });

  for (const code of [400, 404, 409, 422]) {
    it(`does not retry HTTP ${code}`, async () => {
      const err = apiError(code);
      const { call, times } = scripted([err]);
      await assert.rejects(withApiRetry(call, fast), (thrown) => thrown === err);
      assert.equal(times.length, 1);
    });
  }

  it('stops at the first error that is not transient', async () => {
    const { call, times } = scripted([apiError(503), apiError(409), apiError(503)]);
    await assert.rejects(withApiRetry(call, fast), { code: 409 });
    assert.equal(times.length, 2);
  });

  it('rethrows a rejection without a reason untouched', async () => {
    const times: number[] = [];
    const call = (): Promise<string> => {
      times.push(performance.now());
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(undefined);
    };
    await assert.rejects(withApiRetry(call, fast), (thrown) => thrown === undefined);
    assert.equal(times.length, 1);
  });

  it('waits as long as Retry-After says (in seconds)', async () => {
    const { call, times } = scripted([apiError(429, { 'retry-after': '0.05' })]);
    assert.equal(await withApiRetry(call, { baseDelayMs: 1, maxDelayMs: 500 }), 'ok');
    assert.equal(times.length, 2);
    const gap = (times[1] ?? 0) - (times[0] ?? 0);
    assert.ok(gap >= 45, `waited ${gap.toFixed(1)} ms`);
  });

  it('reads a Retry-After header spelled in title case', async () => {
    const { call, times } = scripted([apiError(503, { 'Retry-After': '0.05' })]);
    assert.equal(await withApiRetry(call, { baseDelayMs: 1, maxDelayMs: 500 }), 'ok');
    const gap = (times[1] ?? 0) - (times[0] ?? 0);
    assert.ok(gap >= 45, `waited ${gap.toFixed(1)} ms`);
  });

  it('without Retry-After waits only the (small) backoff', async () => {
    const { call, times } = scripted([apiError(429), apiError(429)]);
    assert.equal(await withApiRetry(call, { baseDelayMs: 1, maxDelayMs: 500 }), 'ok');
    const total = (times[2] ?? 0) - (times[0] ?? 0);
    // 1 ms then 2 ms of backoff; a generous bound that a 50 ms wait per try would break.
    assert.ok(total < 45, `took ${total.toFixed(1)} ms`);
  });

  it('ignores a Retry-After that is an HTTP date and uses the backoff', async () => {
    const { call, times } = scripted([apiError(503, { 'retry-after': 'Wed, 21 Oct 2099 07:28:00 GMT' })]);
    assert.equal(await withApiRetry(call, { baseDelayMs: 1, maxDelayMs: 10_000 }), 'ok');
    const gap = (times[1] ?? 0) - (times[0] ?? 0);
    assert.ok(gap < 1000, `waited ${gap.toFixed(1)} ms`);
  });

  it('caps a long Retry-After at maxDelayMs', async () => {
    const { call, times } = scripted([apiError(429, { 'retry-after': '3600' })]);
    assert.equal(await withApiRetry(call, { baseDelayMs: 1, maxDelayMs: 20 }), 'ok');
    const gap = (times[1] ?? 0) - (times[0] ?? 0);
    assert.ok(gap >= 15 && gap < 1000, `waited ${gap.toFixed(1)} ms`);
  });

  it('doubles the backoff between tries', async () => {
    const { call, times } = scripted([apiError(500), apiError(500), apiError(500)]);
    assert.equal(await withApiRetry(call, { baseDelayMs: 20, maxDelayMs: 1000 }), 'ok');
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    // 20, 40 and 80 ms (timers may fire a little early, never much).
    assert.ok((gaps[0] ?? 0) >= 15, `gaps ${gaps.join(', ')}`);
    assert.ok((gaps[1] ?? 0) >= 35, `gaps ${gaps.join(', ')}`);
    assert.ok((gaps[2] ?? 0) >= 75, `gaps ${gaps.join(', ')}`);
  });

  it('never waits longer than maxDelayMs for its own backoff', async () => {
    const { call, times } = scripted([apiError(500), apiError(500)]);
    assert.equal(await withApiRetry(call, { baseDelayMs: 60_000, maxDelayMs: 5 }), 'ok');
    assert.ok((times[2] ?? 0) - (times[0] ?? 0) < 1000);
  });
});

describe('isTransient and kept-alive connections', () => {
  it('treats a response body cut off by a closed kept-alive connection as transient', () => {
    assert.equal(isTransient(new Error('Invalid response body while trying to fetch https://127.0.0.1:6443/api/v1/namespaces/default/pods: Premature close')), true);
    assert.equal(isTransient({ code: 'ERR_STREAM_PREMATURE_CLOSE' }), true);
    assert.equal(isTransient(new Error('socket hang up')), true);
    assert.equal(isTransient(new Error('pods "x" is forbidden')), false);
  });
});
