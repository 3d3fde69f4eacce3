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

export function jsonEventLog(writeLine: (line: string) => void = console.log, now: () => number = Date.now): EventLog {
  return (event, fields = {}) => {
    writeLine(JSON.stringify({ event, at: new Date(now()).toISOString(), ...fields }));
  };
}
