/**
 * A tiny concurrency limiter: at most `n` tasks run at once, the rest wait in order. Used to
 * bound parallel blob uploads (docker pushes 5 layers at a time; imgtool defaults to 4).
 */
import { ImgtoolError } from '../../image/errors.js';

/** Runs functions with at most `n` in flight. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** Makes a limiter allowing `n` (≥ 1) concurrent tasks. */
export function limiter(n: number): Limiter {
  if (!Number.isInteger(n) || n < 1) throw new ImgtoolError('USAGE', `concurrency must be a whole number of at least 1, got ${n}`);
  let active = 0;
  const waiting: Array<() => void> = [];
  const next = (): void => {
    if (active >= n) return;
    const run = waiting.shift();
    if (run !== undefined) {
      active++;
      run();
    }
  };
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      waiting.push(() => {
        task()
          .then(resolve, reject)
          .finally(() => {
            active--;
            next();
          });
      });
      next();
    });
}
