/** Reading settings from plain string variables, with errors that name the variable. */
export type ConfigVars = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function integer(vars: ConfigVars, name: string, fallback: number, min: number, max: number): number {
  const raw = vars[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
