/**
 * Security events as one JSON line each. Fields are chosen by the callers from a fixed set:
 * account ids, addresses, outcomes — never passwords, hashes or tokens.
 */

export interface EventFields {
  accountId?: string;
  email?: string;
  client?: string;
  reason?: string;
  [field: string]: string | number | boolean | undefined;
}

export type EventLog = (event: string, fields?: EventFields) => void;

/**
 * console.log as it is when a line is written, not when the writer is made: a Worker's isolate
 * keeps one log (and one mail transport) for all its requests, and a host, or a test, may replace
 * console.log in the meantime.
 */
export const toConsole = (line: string) => console.log(line);

export function jsonEventLog(writeLine: (line: string) => void = toConsole, now: () => number = Date.now): EventLog {
  return (event, fields = {}) => {
    writeLine(JSON.stringify({ event, at: new Date(now()).toISOString(), ...fields }));
  };
}
