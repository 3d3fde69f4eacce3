/**
 * The bot check in front of register, login, forgot-password and resend-activation, when
 * TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY are set (lib/policy/turnstile.ts verifies).
 *
 * It runs before anything else on those routes, the per-client count included, so a request
 * without a token that Cloudflare accepts costs no database write, no hash and no mail: a
 * credential-stuffing script without a solved widget gets nothing and costs one outbound request
 * at most (none without a token). The token comes as `turnstileToken` in JSON, or as the widget's
 * own form field, `cf-turnstile-response`, from a page's form.
 */
import { verifyTurnstile } from '../policy/turnstile.ts';
import { MAX_TURNSTILE_TOKEN_LENGTH } from '../policy/turnstile.ts';
import { UNKNOWN_CLIENT } from './client-address.ts';
import type { AppContext } from './context.ts';
import { answering, bodyKind, type AnsweringMiddleware } from './media.ts';
import { readBody } from './request-body.ts';
import { respondEdge } from './respond.ts';

export const TOKEN_FIELD = 'turnstileToken';
export const WIDGET_FIELD = 'cf-turnstile-response';

const MISSING_DETAIL = 'Complete the check that you are not a bot, and send its token.';

/** The token the body carries, or undefined; never throws on a body that is not what it claims. */
async function tokenOf(c: AppContext): Promise<string | undefined> {
  const kind = bodyKind(c);
  if (kind === null) return undefined;
  // Read through Hono's cache, so the body checks and validators after this see the same bytes.
  const text = new TextDecoder().decode(await readBody(() => c.req.arrayBuffer()));
  let token: unknown;
  if (kind === 'json') {
    try {
      token = (JSON.parse(text) as Record<string, unknown> | null)?.[TOKEN_FIELD];
    } catch {
      return undefined;
    }
  } else {
    const form = new URLSearchParams(text);
    token = form.get(WIDGET_FIELD) ?? form.get(TOKEN_FIELD);
  }
  return typeof token === 'string' && token !== '' ? token : undefined;
}

export function botCheck(): AnsweringMiddleware {
  return answering(
    async function checkBot(c, next) {
      const settings = c.get('deps').config.turnstile;
      if (!settings) return next();
      const log = c.get('log');
      const token = await tokenOf(c);
      if (token === undefined) {
        log('bot_check_failed', { reason: 'missing' });
        return respondEdge(c, { kind: 'invalid-fields', errors: [{ pointer: `/${TOKEN_FIELD}`, detail: MISSING_DETAIL }] });
      }
      if (token.length > MAX_TURNSTILE_TOKEN_LENGTH) {
        log('bot_check_failed', { reason: 'refused', codes: 'too-long' });
        return respondEdge(c, { kind: 'bot-check-refused' });
      }
      const client = c.get('client');
      const verdict = await verifyTurnstile(settings, token, client === UNKNOWN_CLIENT ? undefined : client);
      if (verdict.kind === 'passed') return next();
      if (verdict.kind === 'refused') {
        log('bot_check_failed', { reason: 'refused', codes: verdict.codes.join(',') });
        return respondEdge(c, { kind: 'bot-check-refused' });
      }
      log('bot_check_unavailable', { reason: verdict.reason, onOutage: settings.onOutage });
      return settings.onOutage === 'open' ? next() : respondEdge(c, { kind: 'bot-check-unavailable' });
    },
    ['invalid-fields', 'bot-check-refused', 'bot-check-unavailable'],
  );
}
