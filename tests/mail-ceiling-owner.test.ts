/**
 * Issue 23 §1: the per-address ceiling must not let a handful of clients keep the owner from
 * resetting their own password, and whatever lets the owner through must not reopen mail bombing.
 * The owner's way through is the allowance kept for clients asking for an address for the first
 * time in the hour (docs/throttling.md, "Mail allowances"): clients that have already spent their
 * own allowance on the address cannot use it, and a botnet of fresh clients can use it only up to
 * LIMIT_MAIL_PER_ADDRESS_NEW_CLIENTS, so the mails one address can receive stay bounded.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const OWNER_CLIENT = '198.51.100.20';
const settle = () => new Promise((r) => setTimeout(r, 0)); // mail is handed off after the answer
const resetMails = (h: Harness) => h.mails.filter((m) => m.to === OWNER && m.template === 'password-reset');

/** `clients` attacker clients, each asking `each` times for a reset of the owner's password. */
async function bomb(h: Harness, clients: number, each: number, first = 1) {
  for (let c = first; c < first + clients; c++) {
    h.client.address = `203.0.113.${c}`;
    for (let i = 0; i < each; i++) expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(202);
  }
  await settle();
}

describe(`the mail ceiling does not deny the owner's reset (${backend.name})`, () => {
  it('four clients spend the ceiling with five requests each; the owner, from a fifth, still gets a link and resets', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    h.clock.now += 3600_000; // the activation mail's hour is over
    await bomb(h, 4, 5);
    expect(resetMails(h)).toHaveLength(20); // the ceiling is spent
    // The same four clients cannot use the allowance kept for new clients: they asked before.
    await bomb(h, 4, 1);
    expect(resetMails(h)).toHaveLength(20);

    h.client.address = OWNER_CLIENT;
    const before = resetMails(h).length;
    expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(202);
    await settle();
    const mail = resetMails(h).slice(before);
    expect(mail, "the owner's own request is mailed").toHaveLength(1);
    const token = tokenFromLink(mail[0]!.link);
    expect((await h.post('/reset-password', { token, password: OTHER_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: OWNER, password: OTHER_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(401);
  });

  // About 560 requests one after another (the count is the point, so they cannot overlap): seconds
  // on sql.js, and in workerd past the default 30 s on a busy 2-core machine (35.7 s was seen).
  it('an attacker with N clients causes at most min(5N, 20) mails an hour, plus one per new client up to 5: never more than 25', { timeout: 120_000 }, async () => {
    for (const n of [1, 4, 6, 9, 30]) {
      const h = await createHarness({ LIMIT_FORGOT_PER_CLIENT: 'off' });
      await h.createActiveAccount(OWNER);
      h.clock.now += 3600_000;
      await bomb(h, n, 8); // more than each client's allowance
      const expected = Math.min(5 * n, 20) + Math.min(Math.max(n - 4, 0), 5);
      expect(resetMails(h), `${n} clients`).toHaveLength(expected);
      expect(resetMails(h).length).toBeLessThanOrEqual(25);
      // Asking again this hour, from the same clients or from more new ones, adds nothing once both are spent.
      if (n >= 9) {
        await bomb(h, 40, 2, 100);
        expect(resetMails(h), `${n} clients, then 40 more`).toHaveLength(25);
      }
      // The next hour everything is fresh: the owner's request from their own client is mailed.
      h.clock.now += 3600_000;
      h.client.address = OWNER_CLIENT;
      const before = resetMails(h).length;
      await h.post('/forgot-password', { email: OWNER });
      await settle();
      expect(resetMails(h).length, `${n} clients, next hour`).toBe(before + 1);
    }
  });

  it("register and resend share the allowances: the owner's registration gets through after four clients' resends spent the ceiling", async () => {
    const h = await createHarness({ LIMIT_RESEND_PER_CLIENT: 'off' });
    h.client.address = OWNER_CLIENT;
    await h.post('/register', { email: OWNER, password: OTHER_PASSWORD }); // a pending registration the attackers can have re-sent
    for (let c = 1; c <= 4; c++) {
      h.client.address = `203.0.113.${c}`;
      for (let i = 0; i < 6; i++) await h.post('/resend-activation', { email: OWNER });
    }
    await settle();
    const activations = () => h.mails.filter((m) => m.to === OWNER && m.template === 'activation').length;
    expect(activations()).toBe(20);
    h.client.address = '198.51.100.21'; // the owner, from another device
    const token = await h.registerAndGetToken(OWNER);
    expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(200);
  });
});
