// CaseVault's uploader: every <form data-upload> is also a drop zone.
// Each file is sent alone by XMLHttpRequest as the raw request body, its
// name in ?name= and its type in Content-Type (the API's raw upload; the
// session's CSRF token in X-CSRF-Token): the browser streams the File from
// disk, nothing of it is read into this script's memory. Each file
// gets a row with a <progress> driven by real upload progress and a
// data-progress attribute (0-100). The server allows 4 uploads at once per
// user; this script keeps at most 3 in flight and queues the rest.
(function () {
  'use strict';

  var MAX_IN_FLIGHT = 3;
  var queue = [];
  var inFlight = 0;

  function humanSize(n) {
    if (n < 1024) { return n + ' B'; }
    var units = ['KiB', 'MiB', 'GiB', 'TiB'];
    var f = n / 1024, u = 0;
    while (f >= 1024 && u < units.length - 1) { f /= 1024; u++; }
    return f.toFixed(1) + ' ' + units[u];
  }

  function setProgress(item, pct) {
    pct = Math.max(0, Math.min(100, Math.floor(pct)));
    item.bar.value = pct;
    item.bar.textContent = pct + '%';
    item.li.setAttribute('data-progress', String(pct));
  }

  function setState(item, state, message) {
    item.li.setAttribute('data-state', state);
    item.status.textContent = message;
  }

  // refusal returns the human words for a refused upload: the server's
  // message (the API's error body) under a lead that says what to do.
  function refusal(xhr, body) {
    var code = body && body.error ? body.error.code : '';
    var message = body && body.error ? body.error.message : '';
    var wait = parseInt(xhr.getResponseHeader('Retry-After') || '', 10);
    switch (xhr.status) {
      case 413:
        return 'Too large: ' + (message || 'this file is larger than the server accepts.') + ' (too_large)';
      case 429:
        return 'Too many uploads or requests at once: ' + (message || 'the server asked to slow down.') +
          (wait > 0 ? ' Try again in ' + wait + (wait === 1 ? ' second.' : ' seconds.') : '') + ' (rate_limited)';
      case 408:
        return 'The upload stalled: ' + (message || 'the server stopped waiting for this file.') +
          ' Nothing of it was kept; try again on a steadier connection. (timeout)';
      case 403:
        return 'Refused: ' + (message || 'this page has expired or you may not upload here. Reload the page and try again.') + ' (' + (code || 'forbidden') + ')';
      case 404:
        return 'Not found: ' + (message || 'this matter no longer exists or you no longer have access to it.') + ' (not_found)';
    }
    if (message) { return 'Refused: ' + message + (code ? ' (' + code + ')' : ''); }
    return 'The server refused this file (status ' + xhr.status + '). Nothing was stored.';
  }

  function parse(xhr) {
    var ctype = xhr.getResponseHeader('Content-Type') || '';
    if (ctype.indexOf('application/json') !== 0) { return null; }
    try { return JSON.parse(xhr.responseText); } catch (e) { return null; }
  }

  function finished(item, ok) {
    inFlight--;
    item.zone.pending--;
    if (ok) { item.zone.stored++; }
    if (item.zone.pending === 0 && item.zone.done) {
      item.zone.done.hidden = false;
    }
    pump();
  }

  function send(item) {
    inFlight++;
    setState(item, 'uploading', 'Uploading…');
    var xhr = new XMLHttpRequest();
    // The file is the raw body, its name in the query (the API's raw
    // upload): the browser streams it from disk, and the server reads it
    // without a multipart envelope to parse.
    var url = new URL(item.zone.form.action);
    url.searchParams.set('name', item.file.name);
    xhr.open('POST', url.href);
    xhr.setRequestHeader('Content-Type', item.file.type || 'application/octet-stream');
    xhr.setRequestHeader('X-CSRF-Token', item.zone.token);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable && e.total > 0) { setProgress(item, 100 * e.loaded / e.total); }
    };
    xhr.onload = function () {
      var body = parse(xhr);
      if ((xhr.status === 201 || xhr.status === 200) && body && body.document) {
        setProgress(item, 100);
        setState(item, 'done', 'Stored, encrypted. ');
        var a = document.createElement('a');
        a.href = body.location;
        a.textContent = 'Open ' + (body.document.name || 'the document');
        item.status.appendChild(a);
        finished(item, true);
        return;
      }
      if (!body && (xhr.responseURL.indexOf('/signin') !== -1 || xhr.responseURL.indexOf('/account/password') !== -1)) {
        setState(item, 'failed', 'Your session has ended: sign in again, then upload this file again. Nothing of it was stored.');
      } else {
        setState(item, 'failed', refusal(xhr, body));
        if (xhr.status === 429 || xhr.status === 408) { offerRetry(item); }
      }
      finished(item, false);
    };
    xhr.onerror = function () {
      setState(item, 'failed', 'The connection failed before the upload finished; nothing was stored. Check the network and try again.');
      offerRetry(item);
      finished(item, false);
    };
    xhr.onabort = xhr.onerror;
    xhr.send(item.file);
  }

  function offerRetry(item) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'secondary outline retry';
    b.textContent = 'Try again';
    b.addEventListener('click', function () {
      b.remove();
      setProgress(item, 0);
      enqueue(item);
    });
    item.status.appendChild(document.createTextNode(' '));
    item.status.appendChild(b);
  }

  function pump() {
    while (inFlight < MAX_IN_FLIGHT && queue.length > 0) { send(queue.shift()); }
  }

  function enqueue(item) {
    item.zone.pending++;
    if (item.zone.done) { item.zone.done.hidden = true; }
    setState(item, 'queued', 'Waiting for a free upload slot…');
    queue.push(item);
    pump();
  }

  function add(zone, files) {
    for (var i = 0; i < files.length; i++) {
      var f = files[i];
      var li = document.createElement('li');
      li.setAttribute('data-file', f.name);
      var name = document.createElement('span');
      name.className = 'upload-name';
      name.textContent = f.name + ' (' + humanSize(f.size) + ')';
      var bar = document.createElement('progress');
      bar.max = 100;
      bar.setAttribute('aria-label', 'Upload of ' + f.name);
      var status = document.createElement('span');
      status.className = 'upload-status';
      li.appendChild(name);
      li.appendChild(bar);
      li.appendChild(status);
      zone.list.appendChild(li);
      var item = { zone: zone, file: f, li: li, bar: bar, status: status };
      setProgress(item, 0);
      enqueue(item);
    }
  }

  function setup(form) {
    var zone = {
      form: form,
      input: form.querySelector('input[type="file"]'),
      list: form.querySelector('.upload-list'),
      done: form.querySelector('.upload-done'),
      token: (form.querySelector('input[name="csrf"]') || {}).value || '',
      pending: 0,
      stored: 0
    };
    form.classList.add('drop-zone');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (zone.input && zone.input.files.length > 0) {
        add(zone, zone.input.files);
        zone.input.value = '';
      }
    });
    var depth = 0;
    form.addEventListener('dragenter', function (e) {
      e.preventDefault();
      depth++;
      form.classList.add('dragging');
    });
    form.addEventListener('dragover', function (e) {
      e.preventDefault();
      if (e.dataTransfer) { e.dataTransfer.dropEffect = 'copy'; }
    });
    form.addEventListener('dragleave', function () {
      if (--depth <= 0) { depth = 0; form.classList.remove('dragging'); }
    });
    form.addEventListener('drop', function (e) {
      e.preventDefault();
      e.stopPropagation();
      depth = 0;
      form.classList.remove('dragging');
      if (e.dataTransfer && e.dataTransfer.files.length > 0) { add(zone, e.dataTransfer.files); }
    });
  }

  function start() {
    var forms = document.querySelectorAll('form[data-upload]');
    if (forms.length === 0) { return; }
    forms.forEach(setup);
    // A file dropped beside the zone must not make the browser leave the
    // page to open it.
    window.addEventListener('dragover', function (e) { e.preventDefault(); });
    window.addEventListener('drop', function (e) { e.preventDefault(); });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
