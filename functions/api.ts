/**
 * `latchkey.api`: the flows without HTTP, for a host app that calls Latchkey from its own code (its
 * own sign-up form, a CLI, a test). Each call runs what the endpoint runs, in the endpoint's order:
 * the client's allowance for the endpoint (lib/http/limit-per-client.ts), the session for the
 * routes that need one, the body's schema (the endpoint's own zod schema, refused as its 422 is),
 * then the same lib/flows function over the same services, the outbox and courier included. So an
 * api call and a request with the same input get the same outcome, and count in the same limits.
 *
 * Outcomes are the flows' tagged unions, plus `invalid` (the schema refused the input),
 * `throttled` (the client's allowance is spent) and `unauthenticated` (no live session): nothing a
 * caller can cause throws. What the caller cannot cause throws LatchkeyUnavailableError: the
 * database does not answer, or too many password hashes are waiting (HTTP's 503 in both cases),
 * so that an outage is never taken for "wrong password" or "not logged in".
 *
 * Whom an allowance counts: `call.client`, the address of the person the host acts for, if the
 * host knows it (its runtime's CF-Connecting-IP, or its socket's peer); then the api and HTTP
 * share that person's counters. Without it, every api call counts as one client named `api`, apart
 * from the requests Latchkey could not place (`unknown`): a host that passes nothing is limited as
 * a single, busy client, never left unlimited.
 */
import type { z } from '@hono/zod-openapi';
import { HashQueueFullError } from '../lib/crypto/hash-queue.ts';
import type { Deps } from '../lib/deps.ts';
import { activate as activateFlow, type ActivationOutcome } from '../lib/flows/activation.ts';
import { changePassword as changePasswordFlow, type ChangePasswordOutcome as ChangeFlowOutcome } from '../lib/flows/change-password.ts';
import { deleteAccount as deleteAccountFlow, type DeleteAccountOutcome as DeleteFlowOutcome } from '../lib/flows/delete-account.ts';
import type { FieldError } from '../lib/flows/field-error.ts';
import { login as loginFlow } from '../lib/flows/login.ts';
import { register as registerFlow, type RegisterOutcome as RegisterFlowOutcome } from '../lib/flows/register.ts';
import { resendActivation as resendFlow, type ResendOutcome, type ResendRequest } from '../lib/flows/resend-activation.ts';
import { forgotPassword as forgotFlow, resetPassword as resetFlow, type ForgotOutcome, type ForgotServices, type ResetOutcome } from '../lib/flows/reset-password.ts';
import { checkSession, presentedSession, type PresentedSession, endSession as endSessionFlow, listSessions as listSessionsFlow, logout as logoutFlow, type EndOneOutcome, type ListOutcome, type SessionServices } from '../lib/flows/sessions.ts';
import { mailQueueOf, type KeepAlive } from '../lib/http/after-response.ts';
import type { MailQueue } from '../lib/mail/outbox.ts';
import { clientLimitKey, normalizeAddress } from '../lib/http/client-address.ts';
import { admissionFor, settleAdmission } from '../lib/http/limit-per-client.ts';
import type { Admission } from '../lib/storage/throttle.ts';
import { fieldErrorsOf } from '../lib/http/router.ts';
import type { LatchkeySession, LatchkeyUser } from '../lib/http/host-session.ts';
import { AddressOnly, LoginRequest, RegisterRequest, sessionView, userView } from '../lib/http/schemas.ts';
import type { EventFields, EventLog } from '../lib/log.ts';
import { DatabaseUnavailableError } from '../lib/storage/db.ts';
import type { LiveSession } from '../lib/flows/sessions.ts';
import type { Endpoint } from '../lib/config/throttle-settings.ts';
import { TokenBody } from './endpoints/activate.ts';
import { ChangePasswordBody } from './endpoints/change-password.ts';
import { DeleteAccountBody } from './endpoints/delete-account.ts';
import { ResetBody } from './endpoints/reset-password.ts';
import { ChangeEmailBody } from './endpoints/change-email.ts';
import { LoginMfaRequest } from './endpoints/mfa-login.ts';
import { answerChallenge } from '../lib/flows/mfa-login.ts';
import { LinkTokenBody } from './endpoints/confirm-email.ts';
import { requestEmailChange, type ChangeEmailOutcome as ChangeEmailFlowOutcome } from '../lib/flows/change-email.ts';
import { confirmEmail as confirmEmailFlow, undoEmailChange as undoEmailChangeFlow, type ConfirmEmailServices, type ConfirmOutcome, type UndoOutcome } from '../lib/flows/confirm-email.ts';
import { SessionIdParams } from './endpoints/sessions.ts';


/** GET /session's 200 body: no token, no hash. */
export interface VerifiedSession {
  user: LatchkeyUser;
  session: LatchkeySession;
}

export interface SessionCall {
  /** Added to the events this call logs, in place of the client and path a request would give (`via: 'rpc'`). */
  logFields?: EventFields;
}

/** What an api call may say about itself besides its input. */
export interface ApiCall {
  /**
   * The IP address of the person the host acts for, as its runtime vouches for it; their
   * per-client allowances are then the ones their HTTP requests use. Default: the one `api` client.
   * Anything that is not an IP address counts as the `unknown` client, as over HTTP.
   */
  client?: string;
  /**
   * A Worker's `ctx.waitUntil`, so that the mail a call queues is sent before the isolate goes;
   * without it, a mail the isolate did not send waits in the outbox for the cron's drain.
   */
  waitUntil?: KeepAlive;
}

/** The name every api call without `client` counts under, in the allowances and the log. */
export const API_CLIENT = 'api';

export type Invalid = { kind: 'invalid'; errors: FieldError[] };
export type Throttled = { kind: 'throttled'; retryAfterSeconds: number };
export type Unauthenticated = { kind: 'unauthenticated' };

export type RegisterOutcome = RegisterFlowOutcome | Throttled;
export type ActivateOutcome = ActivationOutcome | Invalid | Throttled;
/** POST /login's outcomes; a success as its 200 body holds it: the public user, no hash. */
export type LoginOutcome =
  | Invalid
  | Throttled
  | { kind: 'wrong' }
  /** The password was right and the account has TOTP on: finish with loginSecondFactor (POST /login/mfa). */
  | { kind: 'mfa_required'; challenge: { token: string; expiresAt: string } }
  | { kind: 'ok'; user: LatchkeyUser; device: { token: string; expiresAt: string }; session: { token: string; expiresAt: string } };
/** POST /login/mfa's outcomes: a success as a login's; one `wrong` for every refused code or challenge. */
export type LoginSecondFactorOutcome = Exclude<LoginOutcome, { kind: 'mfa_required' }>;
export type ResendActivationOutcome = ResendOutcome | Invalid | Throttled;
export type ForgotPasswordOutcome = ForgotOutcome | Invalid | Throttled;
export type ResetPasswordOutcome = ResetOutcome | Invalid | Throttled;
export type ChangePasswordOutcome = ChangeFlowOutcome | Unauthenticated | Throttled;
export type DeleteAccountOutcome = DeleteFlowOutcome | Invalid | Unauthenticated | Throttled;
export type ChangeEmailOutcome = ChangeEmailFlowOutcome | Unauthenticated;
export type ConfirmEmailOutcome = ConfirmOutcome | Invalid | Throttled;
export type UndoEmailChangeOutcome = UndoOutcome | Invalid | Throttled;
export type LogoutOutcome = { kind: 'ended' } | Unauthenticated;
export type ListSessionsOutcome = ListOutcome | Unauthenticated;
export type EndSessionOutcome = EndOneOutcome | Invalid | Unauthenticated;

export interface LatchkeyApi {
  register(input: { email: string; password: string }, call?: ApiCall): Promise<RegisterOutcome>;
  /** The activation link's token (the `token` of its query) and the password, as POST /activate takes them. */
  activate(input: { token: string; password: string; confirmPassword?: string }, call?: ApiCall): Promise<ActivateOutcome>;
  /** `deviceToken`: the device token of an earlier login, as POST /login's header carries it. */
  login(input: { email: string; password: string; deviceToken?: string }, call?: ApiCall): Promise<LoginOutcome>;
  /** POST /login/mfa: the challenge of an `mfa_required` login, and a code from the authenticator or a recovery code. */
  loginSecondFactor(input: { challenge: string; code: string } | { challenge: string; recoveryCode: string }, call?: ApiCall): Promise<LoginSecondFactorOutcome>;
  resendActivation(input: { email: string }, call?: ApiCall): Promise<ResendActivationOutcome>;
  forgotPassword(input: { email: string }, call?: ApiCall): Promise<ForgotPasswordOutcome>;
  resetPassword(input: { token: string; password: string; confirmPassword?: string }, call?: ApiCall): Promise<ResetPasswordOutcome>;
  changePassword(sessionToken: string, input: { currentPassword: string; newPassword: string; code?: string }, call?: ApiCall): Promise<ChangePasswordOutcome>;
  deleteAccount(sessionToken: string, input: { password: string; code?: string }, call?: ApiCall): Promise<DeleteAccountOutcome>;
  /** POST /change-email: `pending` for every well-formed address; the link goes to the new one. */
  changeEmail(sessionToken: string, input: { password: string; newEmail: string; code?: string }, call?: ApiCall): Promise<ChangeEmailOutcome>;
  /** POST /confirm-email: the token of the link mailed to the new address. */
  confirmEmail(input: { token: string }, call?: ApiCall): Promise<ConfirmEmailOutcome>;
  /** POST /undo-email-change: the token of the link mailed to the old address. */
  undoEmailChange(input: { token: string }, call?: ApiCall): Promise<UndoEmailChangeOutcome>;
  /** GET /session's body for a live session, null otherwise. */
  verifySession(sessionToken: string, call?: ApiCall): Promise<VerifiedSession | null>;
  logout(sessionToken: string, call?: ApiCall): Promise<LogoutOutcome>;
  listSessions(sessionToken: string, call?: ApiCall): Promise<ListSessionsOutcome>;
  endSession(sessionToken: string, sessionId: string, call?: ApiCall): Promise<EndSessionOutcome>;
}

/**
 * What the api and verifySession/revokeSession throw when Latchkey cannot answer now: its
 * database did not answer, or too many password hashes are waiting. A caller must not take it for
 * "not logged in" or "wrong password". Its message names no driver and no token.
 */
export class LatchkeyUnavailableError extends Error {
  readonly reason: 'database' | 'busy';
  constructor(reason: 'database' | 'busy' = 'database') {
    super(reason === 'busy' ? 'Latchkey is busy: too many password checks are waiting; try again shortly' : 'Latchkey is unavailable: its database did not answer; try again shortly');
    this.name = 'LatchkeyUnavailableError';
    this.reason = reason;
  }
}

/** Runs `work`, logging and turning what the caller cannot cause into LatchkeyUnavailableError, as app.ts's onError answers 503. */
export async function guardOutage<T>(log: EventLog, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DatabaseUnavailableError) {
      log('database_unavailable', { reason: error.cause instanceof Error ? error.cause.name : 'unknown' });
      throw new LatchkeyUnavailableError('database');
    }
    if (error instanceof HashQueueFullError) {
      log('hash_queue_full', {});
      throw new LatchkeyUnavailableError('busy');
    }
    throw error;
  }
}

/** The live session behind a token, through the check every session route uses (lib/flows/sessions.ts). */
export async function checkedSession(deps: Deps, log: EventLog, token: unknown): Promise<{ services: SessionServices; session: LiveSession } | undefined> {
  const checked = await sessionChecked(deps, log, token, null);
  return checked.ok ? { services: checked.services, session: checked.session } : undefined;
}

/** checkSession() for a caller that is not typed, with the call's hit on its allowance if it has one. */
async function sessionChecked(deps: Deps, log: EventLog, token: unknown, admission: Admission | null) {
  // Read at the call, not when made: the Node server may replace deps.config once it listens.
  const services: SessionServices = { db: deps.db, config: deps.config, log };
  // A caller over RPC or from JavaScript is not typed: anything but a string is a missing token, never a thrown error.
  const checked = await checkSession(services, typeof token === 'string' ? token : undefined, deps.now(), admission);
  return { ...checked, services };
}

export const verifiedSession = (session: LiveSession): VerifiedSession => ({ user: userView(session.account), session: sessionView(session) });

/** The input as the endpoint's schema reads a body: its value, or the same field errors as the 422. */
function validated<S extends z.ZodType>(schema: S, input: unknown): { ok: true; value: z.infer<S> } | { ok: false; refusal: Invalid } {
  const parsed = schema.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, refusal: { kind: 'invalid', errors: fieldErrorsOf(parsed.error) } };
}

/** What one api call runs with: its client, its log lines (marked `via: api`), its outbox. */
interface CallContext {
  client: string;
  clientKey: string;
  /** The call's hit on the endpoint's per-client window, for the flow's first batch (lib/http/limit-per-client.ts). */
  admission: Admission | null;
  log: EventLog;
  mail: () => MailQueue;
}

export function createApi(deps: Deps): LatchkeyApi {
  function context(name: string, call: ApiCall = {}): CallContext {
    const client = call.client === undefined ? API_CLIENT : normalizeAddress(call.client);
    const clientKey = client === API_CLIENT ? API_CLIENT : clientLimitKey(client);
    const log: EventLog = (event, fields) => deps.log(event, { ...fields, client, via: 'api', call: name });
    return { client, clientKey, admission: null, log, mail: () => mailQueueOf(deps, log, call.waitUntil) };
  }

  /**
   * A call that counts in an endpoint's per-client allowance, as the endpoint's middleware does: the
   * flow takes the hit into its first batch (ctx.admission); a call that ends before it (a body that
   * fails validation) is charged after, alone, and answered `throttled` if that is refused.
   */
  function limited<T>(name: string, endpoint: Endpoint, call: ApiCall | undefined, work: (context: CallContext) => Promise<T>): Promise<T | Throttled> {
    const ctx = context(name, call);
    const admission = admissionFor(deps, endpoint, ctx.clientKey);
    return guardOutage(ctx.log, async () => {
      const outcome = await work({ ...ctx, admission });
      return (await settleAdmission(deps, admission, ctx.log)) ?? outcome;
    });
  }

  /**
   * A call whose flow checks the session in its own first batch (lib/flows/sessions.ts openSession),
   * as the bearer routes that check a password again do: one whose flow never got that far (a body
   * refused, a busy hasher) has its token checked afterwards, and no live session answers first.
   */
  async function inFlow<T>(ctx: CallContext, token: unknown, work: (bearer: PresentedSession) => Promise<T>): Promise<T | Unauthenticated | Throttled> {
    const bearer = presentedSession(typeof token === 'string' ? token : undefined, ctx.admission);
    let outcome: T;
    try {
      outcome = await work(bearer);
    } catch (error) {
      if (bearer.checked || !(error instanceof HashQueueFullError)) throw error;
      const checked = await sessionChecked(deps, ctx.log, token, ctx.admission);
      if (!checked.ok) return checked.refused ?? { kind: 'unauthenticated' };
      throw error;
    }
    if (bearer.checked) return outcome;
    const checked = await sessionChecked(deps, ctx.log, token, ctx.admission);
    return checked.ok ? outcome : (checked.refused ?? { kind: 'unauthenticated' });
  }

  /**
   * A call for a logged-in account that asks for the password again: it counts in the login's
   * allowance, as a login does, the flow opens the session in its first batch, and the body is
   * read by the route's own schema.
   */
  function passwordAgain<S extends z.ZodType, T>(
    name: string,
    call: ApiCall | undefined,
    token: unknown,
    schema: S,
    input: unknown,
    flow: (bearer: PresentedSession, body: z.infer<S>, ctx: CallContext) => Promise<T>,
  ) {
    return limited(name, 'login', call, (ctx) =>
      inFlow(ctx, token, async (bearer) => {
        const body = validated(schema, input);
        return body.ok ? flow(bearer, body.value, ctx) : body.refusal;
      }),
    );
  }

  // Read at the call, not when made: the Node server may replace deps.config once it listens.
  const sessionServices = (ctx: CallContext): SessionServices => ({ db: deps.db, config: deps.config, log: ctx.log });

  /** A session call without a body whose flow reads the session in its own batch: no allowance, as the bodiless bearer routes have none. */
  function bearerCall<T>(name: string, call: ApiCall | undefined, token: unknown, work: (bearer: PresentedSession, ctx: CallContext) => Promise<T>) {
    const ctx = context(name, call);
    return guardOutage(ctx.log, async (): Promise<T | Unauthenticated> => {
      const bearer = presentedSession(typeof token === 'string' ? token : undefined, null);
      const outcome = await work(bearer, ctx);
      // A flow that ended before its batch (a malformed id) answers no live session first, as the route does.
      if (bearer.checked) return outcome;
      return (await checkedSession(deps, ctx.log, token)) ? outcome : { kind: 'unauthenticated' };
    });
  }

  /** A session call without a body: no allowance, as the bodiless bearer routes have none. */
  function sessionCall<T>(name: string, call: ApiCall | undefined, token: unknown, work: (session: LiveSession, ctx: CallContext) => Promise<T>) {
    const ctx = context(name, call);
    return guardOutage(ctx.log, async (): Promise<T | Unauthenticated> => {
      const checked = await checkedSession(deps, ctx.log, token);
      return checked ? work(checked.session, ctx) : { kind: 'unauthenticated' };
    });
  }

  return {
    register: (input, call) =>
      limited('register', 'register', call, async (ctx) => {
        const body = validated(RegisterRequest, input);
        if (!body.ok) return body.refusal;
        const { db, hasher, config, now, breachedPasswords } = deps;
        return registerFlow({ db, hasher, breachedPasswords, config, mail: ctx.mail(), log: ctx.log }, { ...body.value, clientKey: ctx.clientKey, admission: ctx.admission }, now());
      }),

    activate: (input, call) =>
      limited('activate', 'activate', call, async (ctx) => {
        const body = validated(TokenBody, input);
        if (!body.ok) return body.refusal;
        const { db, hasher, config, now, hooks, breachedPasswords } = deps;
        return activateFlow({ db, hasher, breachedPasswords, policy: config.passwordPolicy, log: ctx.log, hooks }, { ...body.value, admission: ctx.admission }, now());
      }),

    login: (input, call) =>
      limited('login', 'login', call, async (ctx): Promise<LoginOutcome> => {
        // The device token is the route's header, not its body: taken apart before the body's schema.
        const { deviceToken, ...fields } = typeof input === 'object' && input !== null ? input : ({} as Partial<typeof input>);
        const body = validated(LoginRequest, typeof input === 'object' && input !== null ? fields : input);
        if (!body.ok) return body.refusal;
        const { db, hasher, config, now } = deps;
        const request = { ...body.value, deviceToken: typeof deviceToken === 'string' ? deviceToken : undefined, client: ctx.client, admission: ctx.admission };
        const outcome = await loginFlow({ db, hasher, config, log: ctx.log }, request, now());
        if (outcome.kind !== 'ok') return outcome;
        // As POST /login's 200 body: the account's public view, never its hash; the session's id stays inside.
        const { token, expiresAt } = outcome.session;
        return { kind: 'ok', user: userView(outcome.account), device: outcome.device, session: { token, expiresAt } };
      }),

    loginSecondFactor: (input, call) =>
      limited('loginSecondFactor', 'login', call, async (ctx): Promise<LoginSecondFactorOutcome> => {
        const body = validated(LoginMfaRequest, input);
        if (!body.ok) return body.refusal;
        const { db, sealer, config, now } = deps;
        const code = 'code' in body.value ? body.value.code : body.value.recoveryCode;
        const outcome = await answerChallenge({ db, sealer, config, log: ctx.log }, { challenge: body.value.challenge, code, client: ctx.client, admission: ctx.admission }, now());
        if (outcome.kind !== 'ok') return outcome;
        const { token, expiresAt } = outcome.session;
        return { kind: 'ok', user: userView(outcome.account), device: outcome.device, session: { token, expiresAt } };
      }),

    resendActivation: (input, call) => mailRequest('resendActivation', 'resend', resendFlow, input, call),
    forgotPassword: (input, call) => mailRequest('forgotPassword', 'forgot', forgotFlow, input, call),

    resetPassword: (input, call) =>
      limited('resetPassword', 'reset', call, async (ctx) => {
        const body = validated(ResetBody, input);
        if (!body.ok) return body.refusal;
        const { db, hasher, config, now, hooks, breachedPasswords } = deps;
        return resetFlow({ db, hasher, breachedPasswords, policy: config.passwordPolicy, mail: ctx.mail(), log: ctx.log, hooks }, { ...body.value, admission: ctx.admission }, now());
      }),

    // A password asked again counts in the login's allowance, as the routes' do (passwordAgain).
    changePassword: (token, input, call) =>
      passwordAgain('changePassword', call, token, ChangePasswordBody, input, (bearer, body, ctx) => {
        const { db, hasher, sealer, config, now, hooks, breachedPasswords } = deps;
        return changePasswordFlow({ db, hasher, sealer, breachedPasswords, config, mail: ctx.mail(), log: ctx.log, hooks }, { bearer, ...body }, now());
      }),

    changeEmail: (token, input, call) =>
      passwordAgain('changeEmail', call, token, ChangeEmailBody, input, (bearer, body, ctx) => {
        const { db, hasher, sealer, config, now } = deps;
        return requestEmailChange({ db, hasher, sealer, config, mail: ctx.mail(), log: ctx.log }, { bearer, ...body, clientKey: ctx.clientKey }, now());
      }),

    confirmEmail: (input, call) => emailChangeLink('confirmEmail', confirmEmailFlow, input, call),
    undoEmailChange: (input, call) => emailChangeLink('undoEmailChange', undoEmailChangeFlow, input, call),

    deleteAccount: (token, input, call) =>
      passwordAgain('deleteAccount', call, token, DeleteAccountBody, input, (bearer, body, ctx) => {
        const { db, hasher, sealer, config, now, hooks } = deps;
        return deleteAccountFlow({ db, hasher, sealer, config, mail: ctx.mail(), log: ctx.log, hooks }, bearer, body.password, now(), body.code);
      }),

    verifySession: async (token, call) => {
      const outcome = await sessionCall('verifySession', call, token, async (session) => verifiedSession(session));
      return 'kind' in outcome ? null : outcome;
    },

    logout: (token, call) => bearerCall('logout', call, token, (bearer, ctx) => logoutFlow(sessionServices(ctx), bearer, deps.now())),

    listSessions: (token, call) => bearerCall('listSessions', call, token, (bearer, ctx) => listSessionsFlow(sessionServices(ctx), bearer, deps.now())),

    endSession: (token, id, call) =>
      bearerCall('endSession', call, token, async (bearer, ctx) => {
        const params = validated(SessionIdParams, { id });
        if (!params.ok) return params.refusal;
        return endSessionFlow(sessionServices(ctx), bearer, params.value.id, deps.now());
      }),
  };

  /** resend-activation and forgot-password: an address in, the same `accepted` for every well-formed one. */
  function mailRequest(
    name: string,
    endpoint: Endpoint,
    flow: (services: ForgotServices, request: ResendRequest, now: number) => Promise<ResendOutcome>,
    input: { email: string },
    call: ApiCall | undefined,
  ): Promise<ResendOutcome | Invalid | Throttled> {
    return limited(name, endpoint, call, async (ctx) => {
      const body = validated(AddressOnly, input);
      if (!body.ok) return body.refusal;
      const { db, config, now } = deps;
      return flow({ db, config, mail: ctx.mail(), log: ctx.log }, { email: body.value.email, clientKey: ctx.clientKey, admission: ctx.admission }, now());
    });
  }

  /** The two links of a change of address: the token in, the reset endpoint's allowance, as their routes. */
  function emailChangeLink<O>(
    name: string,
    flow: (services: ConfirmEmailServices, token: unknown, now: number, admission: Admission | null) => Promise<O>,
    input: { token: string },
    call: ApiCall | undefined,
  ): Promise<O | Invalid | Throttled> {
    return limited(name, 'reset', call, async (ctx) => {
      const body = validated(LinkTokenBody, input);
      if (!body.ok) return body.refusal;
      const { db, config, now, hooks } = deps;
      return flow({ db, config, mail: ctx.mail(), log: ctx.log, hooks }, body.value.token, now(), ctx.admission);
    });
  }
}
