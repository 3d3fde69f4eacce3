/**
 * One responder decides between a page and JSON (lib/http/respond.ts): a route that offers pages
 * answers a person's browser (HTML in Accept, or a page's form) with a page, and every other
 * client with JSON; a route without pages answers JSON whatever Accept says.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, GOOD_PASSWORD } from './support/harness.ts';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const JSON_BODY = { 'Content-Type': 'application/json' };

describe(`pages or JSON (${backend.name})`, () => {
  it('a JSON request that asks for HTML gets the page where the route has one, and JSON where it has none', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('negotiate@example.com');

    const wrongPassword = await h.post('/activate', { token, password: `${GOOD_PASSWORD} but not` }, { ...JSON_BODY, Accept: BROWSER_ACCEPT });
    expect(wrongPassword.status).toBe(422);
    expect(wrongPassword.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await wrongPassword.text()).toContain('<form');

    const asJson = await h.post('/activate', { token, password: `${GOOD_PASSWORD} but not` }, { ...JSON_BODY, Accept: 'application/json' });
    expect(asJson.status).toBe(422);
    expect(asJson.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    // fetch() sends */*: JSON, as an API client expects.
    const anything = await h.post('/resend-activation', { email: 'negotiate@example.com' }, { ...JSON_BODY, Accept: '*/*' });
    expect(anything.status).toBe(202);
    expect(await anything.json()).toMatchObject({ status: 'pending' });
    const browser = await h.post('/resend-activation', { email: 'negotiate@example.com' }, { ...JSON_BODY, Accept: BROWSER_ACCEPT });
    expect(browser.status).toBe(202);
    expect(browser.headers.get('content-type')).toMatch(/^text\/html/);

    // Login and register have no pages: a browser's Accept changes nothing.
    for (const path of ['/login', '/register']) {
      const res = await h.post(path, { email: 'negotiate@example.com', password: 'x' }, { ...JSON_BODY, Accept: BROWSER_ACCEPT });
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
    }
  });

  it('a media type the endpoint does not list is refused with 415, charset included', async () => {
    const h = await createHarness();
    const body = JSON.stringify({ email: 'types@example.com', password: GOOD_PASSWORD });
    for (const type of ['application/vnd.api+json', 'application/merge-patch+json', 'application/json; charset=iso-8859-1', 'text/json']) {
      const res = await h.post('/register', body, { 'Content-Type': type });
      expect(res.status, type).toBe(415);
      expect(res.headers.get('accept'), type).toBe('application/json');
    }
    for (const type of ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON; Charset="UTF-8"']) {
      expect((await h.post('/register', body, { 'Content-Type': type })).status, type).toBe(202);
    }
    expect(h.mails).toHaveLength(3);
  });
});
