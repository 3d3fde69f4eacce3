/** Waiting for a condition in tests: polled, never a guessed sleep. */

/** Polls `probe` until it returns something other than undefined; fails after `withinMs`. */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, withinMs = 20_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
