import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { activationMail, noticeMail, resetMail } from '../lib/mail/mail.ts';
import { parseMailFrom, renderMail } from '../lib/mail/render.ts';
import { ACTIVATE, EVERY_TEMPLATE, RESET } from './support/mail-templates.ts';

const BRAND = { appName: 'Latchkey', from: 'Latchkey <noreply@Example.COM>' };
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const unescape = (value: string) => value.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!);

/** What the HTML part links to and shows as the link to copy, unescaped as a browser would. */
function htmlLinks(html: string) {
  const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => unescape(m[1]!));
  const copied = [...html.matchAll(/Or copy this link into your browser:<br><span[^>]*>([^<]*)<\/span>/g)].map((m) => unescape(m[1]!));
  return { hrefs, copied };
}

const paragraphsOf = (html: string) => [...html.matchAll(/<p[^>]*>([\s\S]*?)<\/p>/g)].map((m) => m[1]!);

describe(`rendering a mail (${backend.name})`, () => {
  it.each(EVERY_TEMPLATE)('%s: the subject, both parts and the envelope', (_name, mail) => {
    const out = renderMail(mail, BRAND, 'row-42');
    expect(out.subject).toBe(`${mail.subject} — Latchkey`);
    expect(out).toMatchObject({ template: mail.template, to: mail.to, from: BRAND.from, messageId: '<row-42@example.com>' });
    expect(out.headers).toEqual({ 'Auto-Submitted': 'auto-generated' });

    expect(out.text).toBe(`${mail.text}\n\n-- \nThis mail was sent to ada@example.com by Latchkey.`);

    expect(out.html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(out.html).toContain('<meta charset="utf-8">');
    expect(out.html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(out.html).toContain(`<title>${out.subject}</title>`);
    expect(out.html).toMatch(/<h1[^>]*>Latchkey<\/h1>/);
    expect(paragraphsOf(out.html).at(-1)).toBe('This mail was sent to ada@example.com by Latchkey.');
    // Nothing that runs, nothing fetched from elsewhere, no stylesheet a client would strip.
    expect(out.html).not.toMatch(/<(?:script|img|style|link|iframe|object|embed|form|base)\b|\bsrc=|url\(|@import/i);
    // Paragraphs are whole: the text's hard wraps are joined, not kept as line breaks.
    for (const p of paragraphsOf(out.html)) expect(p).not.toContain('\n');
  });

  it.each(EVERY_TEMPLATE.filter(([, mail]) => mail.link !== undefined))('%s: the button, the link to copy and the text part carry the same link', (_name, mail) => {
    const out = renderMail(mail, BRAND, 'row-42');
    expect(out.link).toBe(mail.link);
    const { hrefs, copied } = htmlLinks(out.html);
    expect(hrefs).toEqual([mail.link]);
    expect(copied).toEqual([mail.link]);
    expect(out.text.split('\n').filter((line) => line.includes('://'))).toEqual([mail.link]);
    // The only URL anywhere in the HTML is the link (twice: the button and the text to copy).
    expect([...out.html.matchAll(/https?:\/\/[^\s"<]+/g)].map((m) => unescape(m[0]))).toEqual([mail.link, mail.link]);
  });

  it.each(EVERY_TEMPLATE.filter(([, mail]) => mail.link === undefined))('%s: a notice has no link in either part', (_name, mail) => {
    const out = renderMail(mail, BRAND, 'row-42');
    expect(htmlLinks(out.html)).toEqual({ hrefs: [], copied: [] });
    expect(out.html).not.toContain('://');
    expect(out.text).not.toContain('://');
  });

  it('puts the button right after the sentence that introduces the link, labelled with what it does', () => {
    const activation = paragraphsOf(renderMail(activationMail('ada@example.com', ACTIVATE, 86400), BRAND, '1').html);
    const introduced = activation.findIndex((p) => p.endsWith('enter the password you chose:'));
    expect(introduced).toBeGreaterThan(0);
    expect(activation[introduced + 1]).toMatch(/^<a href="[^"]+" style="[^"]+">Activate your account<\/a>$/);
    expect(activation[introduced + 2]).toMatch(/^Or copy this link/);

    const reset = paragraphsOf(renderMail(resetMail('ada@example.com', RESET, 3600), BRAND, '1').html);
    expect(reset[reset.findIndex((p) => p.endsWith('It works once:')) + 1]).toMatch(/>Choose a new password<\/a>$/);
  });

  it('joins the hard-wrapped lines of a paragraph with a space', () => {
    const { html } = renderMail(activationMail('ada@example.com', ACTIVATE, 86400, true), BRAND, '1');
    expect(paragraphsOf(html)[0]).toBe(
      'Someone, hopefully you, asked to reset the password for this address. Its account has not been activated yet, ' +
        'so there is no password to reset: activate it instead. If you no longer know the password you registered with, ' +
        'type a new one on the link&#39;s page; it will ask for it twice.',
    );
  });

  it('escapes a hostile address, app name and link in the HTML part and keeps them intact in the text part', () => {
    const to = '"<script>"@example.com';
    const notice = renderMail(noticeMail('account-deleted', to), BRAND, '1');
    expect(notice.html).not.toContain('<script');
    expect(notice.html).toContain('This mail was sent to &quot;&lt;script&gt;&quot;@example.com by Latchkey.');
    expect(notice.text).toContain(`This mail was sent to ${to} by Latchkey.`);
    expect(notice.to).toBe(to);

    const appName = `<img src=x onerror=alert(1)> & "Co's"`;
    const branded = renderMail(noticeMail('already-active', 'ada@example.com'), { ...BRAND, appName }, '1');
    const escaped = '&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Co&#39;s&quot;';
    expect(branded.html).not.toContain('<img');
    expect(branded.html).toContain(`<title>Your account is already active — ${escaped}</title>`);
    expect(branded.html).toContain(`>${escaped}</h1>`);
    expect(branded.subject).toBe(`Your account is already active — ${appName}`);

    // A quote in the link must not end the href attribute early.
    const link = `https://auth.example.com/activate?token=a"onmouseover="alert(1)'&x=<b>`;
    const linked = renderMail(activationMail('ada@example.com', link, 86400), BRAND, '1');
    expect(linked.html).not.toMatch(/onmouseover="/);
    expect(htmlLinks(linked.html)).toEqual({ hrefs: [link], copied: [link] });
    expect(linked.text).toContain(`\n${link}\n`);
  });

  it('names the Message-ID after the sender address domain, in either form of MAIL_FROM', () => {
    const mail = noticeMail('password-changed', 'ada@example.com');
    expect(renderMail(mail, { appName: 'Latchkey', from: 'accounts@mail.example.org' }, 'b6f0c1d2-7e3a-4b59-9c1d-0a1b2c3d4e5f').messageId).toBe(
      '<b6f0c1d2-7e3a-4b59-9c1d-0a1b2c3d4e5f@mail.example.org>',
    );
    expect(renderMail(mail, { appName: 'Latchkey', from: '"Latchkey <support>" <noreply@Auth.Example.com>' }, '17').messageId).toBe('<17@auth.example.com>');
  });

  it('refuses a sender, an id, an app name or a link that would make a broken or forged mail', () => {
    const mail = noticeMail('password-changed', 'ada@example.com');
    expect(() => renderMail(mail, { ...BRAND, from: 'not an address' }, '1')).toThrow(/MAIL_FROM/);
    for (const id of ['', 'a>b', 'a@b', 'x\r\nBcc: eve@example.com', 'a b', '.a', 'a..b']) {
      expect(() => renderMail(mail, BRAND, id), JSON.stringify(id)).toThrow(/message id/);
    }
    for (const appName of ['', '   ', 'Latchkey\r\nBcc: eve@example.com', 'Latch\u2028key']) {
      expect(() => renderMail(mail, { ...BRAND, appName }, '1'), JSON.stringify(appName)).toThrow(/APP_NAME/);
    }
    for (const link of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', '/activate?token=x', 'https://x.test/a b']) {
      expect(() => renderMail(activationMail('ada@example.com', link, 86400), BRAND, '1'), link).toThrow(/link/);
    }
  });
});

describe(`MAIL_FROM (${backend.name})`, () => {
  it.each([
    ['noreply@example.com', { address: 'noreply@example.com', domain: 'example.com' }],
    ['  noreply@Example.COM  ', { address: 'noreply@Example.COM', domain: 'example.com' }],
    ['Latchkey <noreply@example.com>', { name: 'Latchkey', address: 'noreply@example.com', domain: 'example.com' }],
    ['J. R. Accounts <j.r+mail@mail.example.co.uk>', { name: 'J. R. Accounts', address: 'j.r+mail@mail.example.co.uk', domain: 'mail.example.co.uk' }],
    ['"Latchkey, Inc." <noreply@example.com>', { name: 'Latchkey, Inc.', address: 'noreply@example.com', domain: 'example.com' }],
    ['"Say \\"hi\\"" <noreply@example.com>', { name: 'Say "hi"', address: 'noreply@example.com', domain: 'example.com' }],
    ['Zürich Konten <noreply@xn--zrich-kva.example>', { name: 'Zürich Konten', address: 'noreply@xn--zrich-kva.example', domain: 'xn--zrich-kva.example' }],
    ['<noreply@example.com>', { address: 'noreply@example.com', domain: 'example.com' }],
    ['latchkey@localhost', { address: 'latchkey@localhost', domain: 'localhost' }],
  ])('reads %j', (raw, parsed) => {
    expect(parseMailFrom(raw)).toEqual(parsed);
  });

  it.each([
    '',
    'noreply',
    'noreply@',
    '@example.com',
    'Latchkey',
    'noreply@example.com\r\nBcc: eve@example.com',
    'Latchkey\n <noreply@example.com>',
    'Latchkey <noreply@example.com>\r\n',
    'Latch\u0000key <noreply@example.com>',
    'Latchkey <noreply@example.com',
    'Latchkey noreply@example.com>',
    'Latchkey <>',
    'a@example.com, b@example.com',
    'Latchkey, Inc. <noreply@example.com>',
    'Latchkey <a@example.com> <b@example.com>',
    '"Latchkey <noreply@example.com>',
    '"no"reply"@example.com',
    'no reply@example.com',
    '.noreply@example.com',
    'no..reply@example.com',
    'noreply@example..com',
    'noreply@-example.com',
    'noreply@example.com.',
    'noreply@[127.0.0.1]',
    'noreply@127.0.0.1',
    'noreply@bücher.example',
    `${'a'.repeat(65)}@example.com`,
    `noreply@${'a'.repeat(64)}.example`,
  ])('refuses %j', (raw) => {
    expect(parseMailFrom(raw)).toBeNull();
  });
});
