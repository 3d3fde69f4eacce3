import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD, PUBLIC_URL, tokenFromLink } from './support/harness.ts';

describe(`the whole flow (${backend.name})`, () => {
  it('registers, mails a link, activates by POST, and logs in', async () => {
    const h = await createHarness();
    const res = await h.post('/register', { email: '  Ada@Example.COM ', password: GOOD_PASSWORD });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'pending' });

    expect(h.mails).toHaveLength(1);
    const mail = h.mails[0]!;
    expect(mail).toMatchObject({ template: 'activation', to: 'Ada@Example.COM' });
    expect(mail.link).toMatch(new RegExp(`^${PUBLIC_URL}/activate\\?token=[A-Za-z0-9_-]{43}$`));
    expect(mail.text).toContain(mail.link!);

    const token = tokenFromLink(mail.link);
    const page = await h.get(`/activate?token=${token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Ada@Example.COM');
    // The GET page changed nothing: still no account.
    expect((await h.post('/login', { email: 'ada@example.com', password: GOOD_PASSWORD })).status).toBe(401);

    const activated = await h.post('/activate', { token, password: GOOD_PASSWORD });
    expect(activated.status).toBe(200);
    expect(await activated.json()).toEqual({ status: 'active' });

    const login = await h.post('/login', { email: 'ADA@example.com', password: GOOD_PASSWORD });
    expect(login.status).toBe(200);
    const { user } = (await login.json()) as { user: Record<string, string> };
    expect(user.email).toBe('Ada@Example.COM');
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(user.activatedAt!)).toBe(h.clock.now);
    expect(Object.keys(user).sort()).toEqual(['activatedAt', 'createdAt', 'email', 'id']);
  });

  it('never stores the token or the password, only their digests', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('grace@example.com');
    const rows = await dump(h.db);
    expect(rows).not.toContain(token);
    expect(rows).not.toContain(GOOD_PASSWORD);
    expect(rows).toContain('$scrypt$');
  });

  it('answers the same 202 for a new, a pending and an active address', async () => {
    const h = await createHarness();
    await h.createActiveAccount('active@example.com');
    await h.registerAndGetToken('pending@example.com');
    const bodies = [];
    for (const email of ['new@example.com', 'pending@example.com', 'active@example.com']) {
      const res = await h.post('/register', { email, password: OTHER_PASSWORD });
      expect(res.status).toBe(202);
      bodies.push(await res.text());
    }
    expect(new Set(bodies).size).toBe(1);
  });
});
