/** The application's own schema objects; each driver's bookkeeping tables are left out. */
export const schemaQuery = `SELECT type, name, sql FROM sqlite_master
  WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' AND name NOT LIKE 'latchkey_%'
  ORDER BY type, name`;
