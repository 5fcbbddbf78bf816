/** The test helpers themselves: a helper that cannot fail, or fails without saying why, hides bugs. */
import { expect, it } from 'vitest';
import { expectStatus, waitUntil } from '../helpers/server.js';

it('expectStatus shows the body on a mismatch and leaves a matching response unread', async () => {
  await expect(expectStatus(new Response('{"code":"X"}', { status: 500 }), 200)).rejects.toThrow('HTTP 500: {"code":"X"}');
  await expect(expectStatus({ status: 400, body: { code: 'Y' } }, 200)).rejects.toThrow('HTTP 400: {"code":"Y"}');
  const r = new Response('ok', { status: 200 });
  await expectStatus(r, 200);
  expect(await r.text()).toBe('ok');
});

it('waitUntil returns the first value that satisfies the condition, or the last one at the deadline', async () => {
  let n = 0;
  expect(
    await waitUntil(
      () => ++n,
      (v) => v === 3,
      5_000,
      1,
    ),
  ).toBe(3);
  expect(
    await waitUntil(
      async () => 'never',
      (v) => v === 'done',
      30,
      5,
    ),
  ).toBe('never');
});
