import { afterEach, describe, expect, it, vi } from 'vitest';
import { timerAt } from '../../src/security/index.js';

describe('timerAt', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once at the time, also beyond setTimeout’s 24.8-day limit; never synchronously; cancellable', () => {
    vi.useFakeTimers({ now: 0 });
    const DAY = 86_400_000;
    const fired: number[] = [];
    timerAt(365 * DAY, () => fired.push(Date.now()));
    vi.advanceTimersByTime(364 * DAY);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(2 * DAY);
    expect(fired).toEqual([365 * DAY]);
    // Past already: asynchronously, once.
    timerAt(0, () => fired.push(-1));
    expect(fired).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([365 * DAY, -1]);
    const cancel = timerAt(Date.now() + 1000, () => fired.push(-2));
    cancel();
    vi.advanceTimersByTime(2000);
    expect(fired).toEqual([365 * DAY, -1]);
  });
});
