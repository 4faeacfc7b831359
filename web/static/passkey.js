// Passkeys (WebAuthn) on the sign-in, second-step and Sign-in security
// pages. A form with data-passkey ("register", "signin" or "mfa") asks the
// server to begin a ceremony (its data-begin route), the browser's
// authenticator to create or use a passkey, and the server to finish it
// (the form's action); both requests carry the page's CSRF token in
// X-CSRF-Token. The server decides everything; this only carries the
// ceremony between it and the authenticator.
(function () {
  'use strict';

  function show(form, message) {
    var p = form.querySelector('.passkey-error');
    if (!p) {
      p = document.createElement('p');
      p.className = 'error passkey-error';
      p.setAttribute('role', 'alert');
      form.appendChild(p);
    }
    p.textContent = message;
  }

  async function post(path, token, body) {
    var r = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
      body: JSON.stringify(body || {})
    });
    var data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      throw new Error((data && data.error && data.error.message) || ('The server answered ' + r.status + '.'));
    }
    return data;
  }

  document.querySelectorAll('form[data-passkey]').forEach(function (form) {
    form.addEventListener('submit', async function (ev) {
      ev.preventDefault();
      var kind = form.getAttribute('data-passkey');
      var token = (form.querySelector('input[name="csrf"]') || {}).value || '';
      var button = form.querySelector('button');
      if (button) { button.disabled = true; }
      try {
        if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
          throw new Error('This browser cannot use passkeys.');
        }
        var begin = await post(form.getAttribute('data-begin'), token, {});
        var cred;
        if (kind === 'register') {
          cred = await navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(begin.options.publicKey)});
        } else {
          cred = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begin.options.publicKey)});
        }
        var body = {ceremony: begin.ceremony, credential: cred.toJSON()};
        var name = form.querySelector('input[name="name"]');
        if (name) { body.name = name.value; }
        var done = await post(form.getAttribute('action'), token, body);
        window.location.assign((done && done.redirect) || '/');
      } catch (e) {
        show(form, (e && e.message) || String(e));
        if (button) { button.disabled = false; }
      }
    });
  });
})();
