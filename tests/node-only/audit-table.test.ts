/**
 * docs/security.md, "Audit log", says its table lists every event the code logs, no more and no
 * fewer: someone reading the log after an incident looks an event up there. This compares the
 * table's event names with the names in the code's `log('…')` calls, so that a new event, or one
 * that is no longer logged, fails here until the table says so. Node only: it reads the source.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/support/server-process.ts';

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => readFileSync(join(ROOT, dir, file), 'utf8'));
}

/** Every event name the code passes to an event log: `log('x', …)`, `c.get('log')('x', …)`, `jsonEventLog()('x', …)`. */
function loggedEvents(): Set<string> {
  const names = new Set<string>();
  for (const text of ['lib', 'functions', 'scripts'].flatMap(sources)) {
    for (const match of text.matchAll(/(?:\blog|jsonEventLog\(\)|\.get\('log'\))\(\s*'([a-z_]+)'/g)) names.add(match[1]!);
  }
  return names;
}

/** The event names in the first column of the Audit log table. */
function tabledEvents(): Set<string> {
  const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Audit log'), doc.indexOf('\n## ', doc.indexOf('## Audit log') + 1));
  const names = new Set<string>();
  for (const row of section.split('\n').filter((line) => line.startsWith('| `'))) {
    const first = row.split('|')[1]!;
    for (const match of first.matchAll(/`([a-z_]+)`/g)) names.add(match[1]!);
  }
  return names;
}

describe('the audit log table in docs/security.md', () => {
  it('names exactly the events the code logs', () => {
    const logged = loggedEvents();
    // The reader finds what it should: a sample of events from each part of the code.
    for (const name of ['login_failed', 'password_reset', 'session_revoked', 'session_rejected', 'purge', 'bad_request']) expect(logged, name).toContain(name);
    expect([...tabledEvents()].sort()).toEqual([...logged].sort());
  });
});
