/**
 * The Turnstile widget on the pages whose forms post to a bot-checked endpoint (the demo page's
 * register, login, resend and forgot forms; every "ask for a link" form). A page marks the place in
 * its form with BOT_CHECK_SLOT and stays a plain function of its own inputs; the responder fills the
 * slots for the running configuration (lib/http/respond.ts), and only then do the page's script and
 * frame sources name Cloudflare: a server without a site key loads nothing from elsewhere.
 */

export const BOT_CHECK_SLOT = '<!--bot-check-->';
export const TURNSTILE_ORIGIN = 'https://challenges.cloudflare.com';
const TURNSTILE_SCRIPT = `${TURNSTILE_ORIGIN}/turnstile/v0/api.js`;

/**
 * The page with its slots filled: the widget (which adds a hidden `cf-turnstile-response` field to
 * its form) and Cloudflare's script, or nothing when there is no site key. The site key is
 * checked at start to be letters, digits, "-" and "_" (lib/config/bot-and-breach-settings.ts).
 */
export function fillBotCheckSlots(body: string, siteKey: string | undefined): string {
  if (!body.includes(BOT_CHECK_SLOT)) return body;
  if (siteKey === undefined) return body.replaceAll(BOT_CHECK_SLOT, '');
  const widget = `<div class="cf-turnstile" data-sitekey="${siteKey}"></div>`;
  return body.replaceAll(BOT_CHECK_SLOT, widget).replace('</head>', `<script src="${TURNSTILE_SCRIPT}" async defer></script>\n</head>`);
}

/** A page policy that also lets the widget's script and frame come from Cloudflare (its documented CSP). */
export function allowingTurnstile(csp: string): string {
  const directives = csp.split(';').map((d) => d.trim()).filter((d) => d !== '');
  const add = (name: string) => {
    const at = directives.findIndex((d) => d === name || d.startsWith(`${name} `));
    if (at === -1) directives.push(`${name} ${TURNSTILE_ORIGIN}`);
    else directives[at] = `${directives[at]} ${TURNSTILE_ORIGIN}`;
  };
  add('script-src');
  add('frame-src');
  return directives.join('; ');
}
