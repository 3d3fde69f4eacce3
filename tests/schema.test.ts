import { describe, expect, it } from 'vitest';
import { backend } from '#backend';

// Comments and layout may differ between the two files; the objects they build may not.
const canonical = (sql: string) => sql.replace(/--[^\n]*/g, '').replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')').trim();

describe(`schema (${backend.name})`, () => {
  it('migrations/ builds exactly what schema.sql describes', async () => {
    const { migrations, schemaSql } = await backend.schemas();
    const shape = (entries: typeof migrations) => entries.map((e) => ({ ...e, sql: canonical(e.sql) }));
    expect(shape(migrations).map((e) => e.name)).toEqual(expect.arrayContaining(['accounts', 'registrations']));
    expect(shape(migrations)).toEqual(shape(schemaSql));
  });
});
