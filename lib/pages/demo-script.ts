/**
 * The demo page's script, served as a file of its own (GET /demo.js) so that the page's
 * Content-Security-Policy can allow scripts from this origin only, and no inline script at all.
 * It turns the page's forms into calls of the JSON API and says what the answers mean in words,
 * building every node with textContent: nothing the server or the person typed becomes markup.
 * Plain ES2020 for browsers, kept as text here because Workers have no files to serve it from.
 */
export const DEMO_SCRIPT = String.raw`'use strict';
(function () {
  var FIELD_NAMES = { email: 'Email address', password: 'Password', token: 'Link', currentPassword: 'Current password', newPassword: 'New password', newEmail: 'New email address' };
  // The session token lives in this variable only: never in storage, never in the page.
  var session = null;
  var whoami = document.getElementById('whoami');

  function signedIn(email) {
    if (email === null) session = null;
    whoami.textContent = email === null ? 'Not logged in.' : 'Logged in as ' + email + '.';
  }

  /** Sends one request to the API: JSON in, and the session token when there is one. */
  function call(endpoint, method, data) {
    var headers = { Accept: 'application/json, application/problem+json' };
    if (data !== undefined) headers['Content-Type'] = 'application/json';
    if (session) headers.Authorization = 'Bearer ' + session;
    return fetch(new URL(endpoint, document.baseURI), {
      method: method,
      headers: headers,
      body: data === undefined ? undefined : JSON.stringify(data),
      credentials: 'same-origin',
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return null;
        })
        .then(function (body) {
          if (response.status === 401 && body && body.type === 'urn:latchkey:problem:unauthenticated') signedIn(null);
          if (endpoint === 'login' && response.status === 200 && body && body.session) session = body.session.token;
          if (response.status === 200 && body && body.user) signedIn(body.user.email);
          if (response.status === 204) signedIn(null);
          return { status: response.status, body: body, retryAfter: response.headers.get('Retry-After') };
        });
    });
  }
  var TERMINAL_HINT =
    'On a development server the mail is a line in the server\'s terminal that starts with {"event":"mail"; open the "link" in it and press the button.';

  function sentence(text) {
    var p = document.createElement('p');
    p.textContent = text;
    return p;
  }

  /** On a server in development mode, step 2 names the mailbox page; the hint then links to it. */
  function mailHint() {
    var section = document.querySelector('[data-mailbox]');
    if (!section) return sentence(TERMINAL_HINT);
    var p = sentence('The mail also waits in the development mailbox: ');
    var link = document.createElement('a');
    link.href = new URL(section.getAttribute('data-mailbox'), document.baseURI).href;
    link.textContent = 'open the mailbox';
    p.appendChild(link);
    p.appendChild(document.createTextNode(', click the link in the newest mail and press the button.'));
    return p;
  }

  function when(iso) {
    var date = new Date(iso);
    return isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
  }

  /** What an answer of the API means, as paragraphs and lists for people. */
  function describe(endpoint, status, body, retryAfter) {
    var nodes = [];
    if (status === 202 && body && body.status === 'pending') {
      nodes.push(sentence(endpoint === 'register' ? 'Registered. ' + body.message : body.message));
      nodes.push(mailHint());
    } else if (status === 200 && body && body.user && endpoint === 'session') {
      nodes.push(sentence('This session belongs to ' + body.user.email + '. It started ' + when(body.session.createdAt) + ' and ends ' + when(body.session.expiresAt) + ' unless used again.'));
    } else if (status === 200 && body && body.user) {
      nodes.push(sentence('Logged in as ' + body.user.email + '. The account was registered on ' + when(body.user.createdAt) + ' and is active since ' + when(body.user.activatedAt) + '.'));
    } else if (status === 200 && body && body.status === 'changed') {
      nodes.push(sentence('Password changed. ' + body.sessionsEnded + ' other session(s) ended; this one goes on. A notice was mailed.'));
    } else if (status === 204) {
      nodes.push(sentence(endpoint === 'logout' ? 'Logged out. The token no longer works.' : 'Account deleted, with every session of it. A notice was mailed.'));
    } else if (body && typeof body.title === 'string') {
      var fields = Array.isArray(body.errors) && body.errors.length > 0;
      // A validation problem's detail points at its errors member; the list below says it for people.
      nodes.push(sentence(fields ? body.title + '. Please correct:' : body.title + (body.detail ? '. ' + body.detail : '.')));
      if (fields) {
        var list = document.createElement('ul');
        body.errors.forEach(function (error) {
          var name = String(error.pointer || '').replace(/^\//, '');
          var item = document.createElement('li');
          item.textContent = (FIELD_NAMES[name] || name || 'Request') + ': ' + error.detail;
          list.appendChild(item);
        });
        nodes.push(list);
      }
      if (retryAfter) nodes.push(sentence('Try again in ' + retryAfter + ' seconds.'));
    } else {
      nodes.push(sentence('The server answered with status ' + status + ' and nothing this page understands.'));
    }
    return nodes;
  }

  function markFields(form, body) {
    var invalid = {};
    if (body && Array.isArray(body.errors)) {
      body.errors.forEach(function (error) {
        invalid[String(error.pointer || '').replace(/^\//, '')] = true;
      });
    }
    Array.prototype.forEach.call(form.querySelectorAll('input'), function (input) {
      if (invalid[input.name]) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    });
  }

  /** Runs one call and puts what its answer means into the result region. */
  function show(result, button, form, endpoint, method, data) {
    result.replaceChildren(sentence('Sending…'));
    button.disabled = true;
    call(endpoint, method, data)
      .then(function (answer) {
        if (form) markFields(form, answer.body);
        result.setAttribute('data-status', String(answer.status));
        result.replaceChildren.apply(result, describe(endpoint, answer.status, answer.body, answer.retryAfter));
      })
      .catch(function () {
        result.removeAttribute('data-status');
        result.replaceChildren(sentence('Could not reach the server. Is it still running?'));
      })
      .finally(function () {
        button.disabled = false;
      });
  }

  Array.prototype.forEach.call(document.querySelectorAll('form[data-endpoint]'), function (form) {
    var endpoint = form.getAttribute('data-endpoint');
    var fieldset = form.querySelector('fieldset');
    if (fieldset) fieldset.disabled = false;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var data = {};
      new FormData(form).forEach(function (value, name) {
        // The Turnstile widget's field, when the server has a bot check: the JSON API calls it turnstileToken.
        data[name === 'cf-turnstile-response' ? 'turnstileToken' : name] = String(value);
      });
      // A token works once: the next submit needs a fresh one.
      var widget = form.querySelector('.cf-turnstile');
      if (widget && window.turnstile) window.turnstile.reset(widget);
      show(form.querySelector('.result'), form.querySelector('button'), form, endpoint, 'POST', data);
    });
  });

  var actions = document.querySelector('[data-session-actions]');
  if (actions) {
    actions.querySelector('fieldset').disabled = false;
    Array.prototype.forEach.call(actions.querySelectorAll('button[data-action]'), function (button) {
      button.addEventListener('click', function () {
        var action = button.getAttribute('data-action');
        show(actions.querySelector('.result'), button, null, action, action === 'session' ? 'GET' : 'POST', undefined);
      });
    });
  }
})();
`;
