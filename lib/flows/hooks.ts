/**
 * What a host app asks to hear about, so it can keep its own rows in step with the accounts: an
 * account became active, its password changed (a change or a reset), its address changed (a
 * confirmed change or an undo), it was deleted. Each flow
 * calls its hook once, after the batch that made the change committed, and never for an attempt
 * that wrote nothing, so a hook never hears of a change the database does not hold.
 *
 * The flow awaits the hook before it answers: when the client hears "active", the host's row is
 * there. A hook that throws (or rejects) cannot undo the commit, so the answer stands; the failure
 * is logged as `hook_failed` with the hook's name only (its error may carry anything).
 */
import type { EventLog } from '../log.ts';
import type { Account } from '../storage/accounts.ts';

/** An account as a hook may see it: no hash, no address key. */
export type HookAccount = Pick<Account, 'id' | 'email' | 'createdAt' | 'activatedAt'>;

export interface AccountHooks {
  onActivated?: (account: HookAccount) => unknown;
  onPasswordChanged?: (account: HookAccount) => unknown;
  onAccountDeleted?: (account: Pick<Account, 'id' | 'email'>) => unknown;
  onEmailChanged?: (change: { id: string; email: string; previousEmail: string }) => unknown;
}

/**
 * Calls the hook, if the host set one, with what `account` gives; `account` is only asked for
 * when there is a hook, so a flow may read the database there without costing hosts without one.
 */
export async function afterCommit<N extends keyof AccountHooks>(
  hooks: AccountHooks | undefined,
  name: N,
  account: () => Parameters<NonNullable<AccountHooks[N]>>[0] | null | Promise<Parameters<NonNullable<AccountHooks[N]>>[0] | null>,
  log: EventLog,
): Promise<void> {
  const hook = hooks?.[name] as ((account: unknown) => unknown) | undefined;
  if (!hook) return;
  try {
    const view = await account();
    if (view) await hook(view);
  } catch {
    log('hook_failed', { hook: name });
  }
}
