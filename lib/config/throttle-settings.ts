/**
 * The throttle settings: the per-client windows, the mail allowances and the login back-off, from
 * LIMIT_* and LOGIN_* variables, with the defaults and why each is what it is.
 */
import { NIST_FAILURE_CEILING, worstCaseFailures, type BackoffPolicy } from '../policy/login-backoff.ts';
import type { Mode } from './mode.ts';
import { ConfigError, integer, type ConfigVars } from './vars.ts';

export interface WindowLimit {
  /** Hits allowed per window; 0 switches the limit off. */
  limit: number;
  windowSeconds: number;
}

export type Endpoint = 'register' | 'login' | 'resend' | 'activate' | 'forgot' | 'reset';

export interface ThrottlePolicy {
  perClient: Record<Endpoint, WindowLimit>;
  /** Mails one client may cause to one address. */
  mailPerAddressClient: WindowLimit;
  /** Mails one address may receive from all clients together. */
  mailPerAddress: WindowLimit;
  /**
   * Mails past that ceiling for a client asking for the address for the first time in its own
   * window: the owner's way through when other clients have spent the ceiling (docs/throttling.md, "The owner's way past a spent ceiling").
   */
  mailNewClients: WindowLimit;
  loginFailures: BackoffPolicy;
}

/**
 * Defaults and why (docs/throttling.md has the long form):
 * - per client address and endpoint, per 10 minutes: enough for a household or office behind one
 *   NAT address, far too few for scripted guessing or mass registration from one address;
 * - mails per (address, client): 5 an hour leaves room for a person who retries a few times and
 *   is all that one client can send one inbox; no client can spend another's;
 * - mails per address from all clients together: 20 an hour, four clients' worth, the ceiling on
 *   mail bombing by many clients (docs/throttling.md says what it still allows and why);
 * - past that ceiling, 5 an hour per address for clients asking for it for the first time: the
 *   owner's way through when others spent the ceiling, which puts mail bombing at 25 an hour;
 * - failed logins per address: 5 free, then waits of 30 s doubling up to 1 h (NIST SP 800-63B's own
 *   example range), forgotten after a day without failures.
 */
export const DEFAULT_THROTTLE: ThrottlePolicy = {
  perClient: {
    register: { limit: 20, windowSeconds: 600 },
    login: { limit: 60, windowSeconds: 600 },
    resend: { limit: 10, windowSeconds: 600 },
    activate: { limit: 60, windowSeconds: 600 },
    forgot: { limit: 10, windowSeconds: 600 },
    reset: { limit: 60, windowSeconds: 600 },
  },
  mailPerAddressClient: { limit: 5, windowSeconds: 3600 },
  mailPerAddress: { limit: 20, windowSeconds: 3600 },
  mailNewClients: { limit: 5, windowSeconds: 3600 },
  loginFailures: { freeFailures: 5, baseSeconds: 30, maxSeconds: 3600, resetSeconds: 86_400 },
};


/** "20/600": at most 20 per 600 seconds; "off" (or "0/…") switches the limit off. */
function windowLimit(vars: ConfigVars, name: string, fallback: WindowLimit): WindowLimit {
  const raw = vars[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'off') return { limit: 0, windowSeconds: fallback.windowSeconds };
  const m = /^(\d{1,7})\/(\d{1,7})$/.exec(raw);
  const limit = Number(m?.[1]);
  const windowSeconds = Number(m?.[2]);
  if (!m || windowSeconds < 1 || windowSeconds > 7 * 86_400) {
    throw new ConfigError(`${name} must be "<count>/<seconds>" (seconds 1 to 604800) or "off", got "${raw}"`);
  }
  return { limit, windowSeconds };
}

function backoff(vars: ConfigVars): BackoffPolicy {
  const d = DEFAULT_THROTTLE.loginFailures;
  const policy: BackoffPolicy = {
    freeFailures: integer(vars, 'LOGIN_FREE_FAILURES', d.freeFailures, 1, 20),
    baseSeconds: integer(vars, 'LOGIN_BACKOFF_BASE_SECONDS', d.baseSeconds, 1, 3600),
    maxSeconds: integer(vars, 'LOGIN_BACKOFF_MAX_SECONDS', d.maxSeconds, 1, 86_400),
    resetSeconds: integer(vars, 'LOGIN_FAILURE_RESET_SECONDS', d.resetSeconds, 3600, 30 * 86_400),
  };
  if (policy.maxSeconds < policy.baseSeconds) {
    throw new ConfigError('LOGIN_BACKOFF_MAX_SECONDS must not be less than LOGIN_BACKOFF_BASE_SECONDS');
  }
  const worst = worstCaseFailures(policy, policy.resetSeconds);
  if (worst > NIST_FAILURE_CEILING) {
    throw new ConfigError(
      `LOGIN_* settings allow ${worst} failed logins on one address before failures are forgotten; ` +
        `NIST SP 800-63B allows at most ${NIST_FAILURE_CEILING}. Raise the back-off or shorten LOGIN_FAILURE_RESET_SECONDS.`,
    );
  }
  return policy;
}

/**
 * In development mode the per-client allowances default to off: every request there comes from
 * one developer's machine, and a test suite would soon be refused as if it were an attack. The
 * per-address ones stay: they protect a mailbox and an account, not the server. A setting wins.
 */
export function throttlePolicy(vars: ConfigVars, mode: Mode): ThrottlePolicy {
  const d = DEFAULT_THROTTLE;
  const perClient = (name: string, rule: WindowLimit) =>
    windowLimit(vars, name, mode === 'development' ? { limit: 0, windowSeconds: rule.windowSeconds } : rule);
  const policy: ThrottlePolicy = {
    perClient: {
      register: perClient('LIMIT_REGISTER_PER_CLIENT', d.perClient.register),
      login: perClient('LIMIT_LOGIN_PER_CLIENT', d.perClient.login),
      resend: perClient('LIMIT_RESEND_PER_CLIENT', d.perClient.resend),
      activate: perClient('LIMIT_ACTIVATE_PER_CLIENT', d.perClient.activate),
      forgot: perClient('LIMIT_FORGOT_PER_CLIENT', d.perClient.forgot),
      reset: perClient('LIMIT_RESET_PER_CLIENT', d.perClient.reset),
    },
    mailPerAddressClient: windowLimit(vars, 'LIMIT_MAIL_PER_ADDRESS_CLIENT', d.mailPerAddressClient),
    mailPerAddress: windowLimit(vars, 'LIMIT_MAIL_PER_ADDRESS', d.mailPerAddress),
    mailNewClients: windowLimit(vars, 'LIMIT_MAIL_PER_ADDRESS_NEW_CLIENTS', d.mailNewClients),
    loginFailures: backoff(vars),
  };
  const { mailPerAddressClient: own, mailPerAddress: ceiling } = policy;
  if (own.limit > 0 && ceiling.limit > 0 && ceiling.limit <= own.limit) {
    // Otherwise one client alone could spend the ceiling and keep the owner from getting a link.
    throw new ConfigError('LIMIT_MAIL_PER_ADDRESS must allow more mails than LIMIT_MAIL_PER_ADDRESS_CLIENT');
  }
  return policy;
}

