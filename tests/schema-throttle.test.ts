import { describe, expect, it } from 'vitest';
import { backend } from '#backend';

describe(`schema.sql and migrations/ (${backend.name})`, () => {
  it('build the same schema, throttle table and purge index included', async () => {
    const { migrations, schemaSql } = await backend.schemas();
    // Comments inside CREATE statements are kept by SQLite but dropped by the workerd loader.
    const norm = (entries: typeof migrations) =>
      entries.map((e) => ({ ...e, sql: e.sql.replace(/--[^\n]*/g, '').replace(/\s+/g, ' ') }));
    expect(norm(schemaSql)).toEqual(norm(migrations));
    const names = migrations.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['throttle', 'throttle_by_expiry', 'registrations_by_consumed']));
  });
});
