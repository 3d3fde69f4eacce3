/**
 * The demo page's script, served as a file of its own (GET /demo.js) so that the page's
 * Content-Security-Policy can allow scripts from this origin only, and no inline script at all.
 * It turns the page's forms into calls of the JSON API and says what the answers mean in words,
 * building every node with textContent: nothing the server or the person typed becomes markup.
 * Plain ES2020 for browsers, kept as text here because Workers have no files to serve it from.
 */
export const DEMO_SCRIPT = String.raw`'use strict';
(function () {
  var FIELD_NAMES = { email: 'Email address', password: 'Password', token: 'Link' };
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
    } else if (status === 200 && body && body.user) {
      nodes.push(sentence('Logged in as ' + body.user.email + '. The account was registered on ' + when(body.user.createdAt) + ' and is active since ' + when(body.user.activatedAt) + '.'));
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

  Array.prototype.forEach.call(document.querySelectorAll('form[data-endpoint]'), function (form) {
    var endpoint = form.getAttribute('data-endpoint');
    var result = form.querySelector('.result');
    var button = form.querySelector('button');
    var fieldset = form.querySelector('fieldset');
    if (fieldset) fieldset.disabled = false;

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var data = {};
      new FormData(form).forEach(function (value, name) {
        data[name] = String(value);
      });
      result.replaceChildren(sentence('Sending…'));
      button.disabled = true;
      fetch(new URL(endpoint, document.baseURI), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json' },
        body: JSON.stringify(data),
        credentials: 'same-origin',
      })
        .then(function (response) {
          return response
            .json()
            .catch(function () {
              return null;
            })
            .then(function (body) {
              markFields(form, body);
              result.setAttribute('data-status', String(response.status));
              result.replaceChildren.apply(result, describe(endpoint, response.status, body, response.headers.get('Retry-After')));
            });
        })
        .catch(function () {
          result.removeAttribute('data-status');
          result.replaceChildren(sentence('Could not reach the server. Is it still running?'));
        })
        .finally(function () {
          button.disabled = false;
        });
    });
  });
})();
`;
