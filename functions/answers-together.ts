/**
 * The Node server's answers leave in groups, as its writes commit in groups
 * (lib/storage/sqljs/group-commit.ts). An answer that is ready before the event loop's turn ends
 * waits for the end of the turn (its check phase, where the group commit also runs), and then
 * leaves together with every other answer of that turn. An answer that becomes ready after its
 * turn has ended (after a group commit or a hash, say) leaves at once.
 *
 * Why: a request that is answered from a read (GET /session, GET /health) used to be answered as
 * soon as its microtasks ran, one socket write at a time between the reads of the next requests.
 * Each answer then found its client asleep and had to wake it, and the server's loop went round
 * once for each. Answered together, one write wakes the client and the rest find it awake: the
 * load generator of GET /session went to sleep 0.75 times an answer before and 0.09 after, as
 * often as it already did for the link page, whose answers leave together after their group
 * commit; the server's CPU for GET /session fell by about a quarter (`bench/cheap-paths-ab.ts`
 * prints both; docs/performance.md, "Answers together"). The price is the rest of the turn's work
 * as latency: tens of microseconds under load, nothing for a request that arrives alone.
 */
export function answersTogether<A extends unknown[], R>(fetch: (...args: A) => R | Promise<R>): (...args: A) => Promise<R> {
  // The end of the current turn, shared by every request that arrived in it; undefined once passed.
  let turnEnd: Promise<void> | undefined;
  const endOfTurn = () =>
    (turnEnd ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        turnEnd = undefined;
        resolve();
      }),
    ));
  return async (...args) => {
    // Taken when the request arrives, not when its answer is ready: an answer ready after the
    // turn ended must not wait for another.
    const leave = endOfTurn();
    const answer = await fetch(...args);
    await leave;
    return answer;
  };
}
