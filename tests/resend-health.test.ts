import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD, tokenFromLink } from './support/harness.ts';

describe(`resend activation (${backend.name})`, () => {
  it('always answers 202 with the same body', async () => {
    const h = await createHarness();
    await h.createActiveAccount('active@example.com');
    await h.registerAndGetToken('pending@example.com');
    const bodies = new Set<string>();
    for (const email of ['active@example.com', 'pending@example.com', 'unknown@example.com']) {
      const res = await h.post('/resend-activation', { email });
      expect(res.status).toBe(202);
      bodies.add(await res.text());
    }
    expect(bodies.size).toBe(1);
  });

  it('gives a pending address a fresh link, which activates with the password its holder types', async () => {
    const h = await createHarness();
    const first = await h.registerAndGetToken('again@example.com', OTHER_PASSWORD);
    await h.registerAndGetToken('again@example.com', GOOD_PASSWORD);
    await h.post('/resend-activation', { email: 'AGAIN@example.com' });
    const mail = h.mails.at(-1)!;
    expect(mail).toMatchObject({ template: 'activation', to: 'again@example.com' });
    // Nobody asked for a reset here, so the mail must not say so (forgot-password's link does).
    expect(mail.text).toContain('registered an account with this address');
    expect(mail.text).not.toContain('reset the password');
    const fresh = tokenFromLink(mail.link);
    expect(fresh).not.toBe(first);
    // The newest registration's password goes straight through; any other must be typed twice.
    expect((await h.post('/activate', { token: fresh, password: OTHER_PASSWORD })).status).toBe(422);
    expect((await h.post('/activate', { token: fresh, password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: 'again@example.com', password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('sends no link for an unknown or active address, and changes nothing for them', async () => {
    const h = await createHarness();
    await h.createActiveAccount('done@example.com');
    const before = await dump(h.db);
    const mailsBefore = h.mails.length;
    await h.post('/resend-activation', { email: 'done@example.com' });
    await h.post('/resend-activation', { email: 'stranger@example.com' });
    expect(await dump(h.db)).toBe(before);
    const sent = h.mails.slice(mailsBefore);
    expect(sent).toEqual([expect.objectContaining({ template: 'already-active', to: 'done@example.com' })]);
    expect(sent[0]).not.toHaveProperty('link');
  });

  it('takes the expired page’s form and answers with a page', async () => {
    const h = await createHarness();
    await h.registerAndGetToken('page@example.com');
    const res = await h.app.request('/resend-activation', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'email=page%40example.com',
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(h.mails.at(-1)).toMatchObject({ template: 'activation', to: 'page@example.com' });
  });
});

describe(`health (${backend.name})`, () => {
  it('answers ok when the database answers', async () => {
    const h = await createHarness();
    const res = await h.get('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});
