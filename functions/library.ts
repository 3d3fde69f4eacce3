/**
 * The package's main entry (`import … from 'latchkey'`): what a host app needs to put Latchkey in
 * its own Hono app on any runtime. Nothing here loads a driver: the Worker passes its D1 binding,
 * Node opens sql.js through 'latchkey/node' (functions/node.ts).
 */
export { createLatchkey, optionsFromEnv, DEFAULT_HASH_SLOTS, LatchkeyUnavailableError } from './latchkey.ts';
export type {
  Latchkey,
  LatchkeyApp,
  LatchkeyOptions,
  LatchkeySettings,
  LatchkeySession,
  LatchkeyUser,
  LatchkeyVariables,
  RequireSessionOptions,
  SessionCall,
  VerifiedSession,
} from './latchkey.ts';
export { API_CLIENT } from './api.ts';
export type {
  ApiCall,
  LatchkeyApi,
  Invalid,
  Throttled,
  Unauthenticated,
  RegisterOutcome,
  ActivateOutcome,
  LoginOutcome,
  LoginSecondFactorOutcome,
  ResendActivationOutcome,
  ForgotPasswordOutcome,
  ResetPasswordOutcome,
  ChangePasswordOutcome,
  DeleteAccountOutcome,
  ChangeEmailOutcome,
  ConfirmEmailOutcome,
  UndoEmailChangeOutcome,
  LogoutOutcome,
  ListSessionsOutcome,
  EndSessionOutcome,
} from './api.ts';
export type { FieldError } from '../lib/flows/field-error.ts';
export { ConfigError } from '../lib/config/vars.ts';
export type { ConfigVars } from '../lib/config/config.ts';
export type { MailSettings } from '../lib/config/mail-settings.ts';
export type { MailTransport, OutgoingMail } from '../lib/mail/transport.ts';
export type { EventLog } from '../lib/log.ts';
export type { Database } from '../lib/storage/db.ts';
