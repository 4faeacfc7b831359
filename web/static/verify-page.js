// The "Verify a bundle" page (GET /audit/verify): reads the chosen file as
// a stream, runs CaseVaultVerify.verify on it and shows the verdict. It
// makes no request: no fetch, no XMLHttpRequest, no form post.
(function () {
  'use strict';

  // categories name what a failure that names no event is about, in the
  // order they are tried (web/ui_verify_test.go has the same list).
  var categories = [
    ['line', /not a JSON object of the bundle format|has unknown type|is a second header|follows the end line|is longer than/],
    ['witness', /witness/],
    ['retired key', /retired key/],
    ['signature', /not signed by|signature/],
    ['time', /timestamp|proves no time/],
    ['export', /export/],
    ['header', /header|trusted key|verifier key/],
    ['checkpoint', /checkpoint|consistency/],
    ['end', /end line|cut short|empty/]
  ];
  function category(reason) {
    for (var i = 0; i < categories.length; i++) if (categories[i][1].test(reason)) return categories[i][0];
    return 'event';
  }

  function lines(s) { return s.split('\n').map(function (x) { return x.trim(); }).filter(function (x) { return x !== ''; }); }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function time(sec) { return new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'); }

  function show(result, state, seq, verdict, details, cat) {
    result.replaceChildren();
    result.dataset.state = state;
    result.dataset.seq = seq === null ? '' : String(seq);
    if (cat) result.dataset.category = cat; else delete result.dataset.category;
    var p = el('p', verdict, 'verdict');
    p.id = 'verdict';
    result.appendChild(p);
    if (details && details.length) {
      var ul = el('ul');
      details.forEach(function (d) { ul.appendChild(el('li', d)); });
      result.appendChild(ul);
    }
  }

  function describe(r) {
    var out = [];
    var firm = r.tenant === '' ? '(service log)' : r.tenant;
    out.push(r.complete ? 'Firm ' + firm + ': every event of the tree, in order.'
      : 'Firm ' + firm + ': a filtered bundle; it proves that these events are in the tree, not that no other event matches the filter.');
    if (r.exportInfo) {
      var x = r.exportInfo, who = x.actorID + (x.actorEmail ? ' <' + x.actorEmail + '>' : '');
      out.push('Export ' + x.id + ' by ' + who + ' at ' + x.time + ' (event ' + x.seq + ', which ends the bundle).');
    } else {
      out.push('Format ' + r.format + ': this bundle carries no export event and no timestamps, so neither who exported it nor when is proved.');
    }
    if (r.timestamps > 0) out.push('Newest checkpoint timestamp: ' + time(r.newest) + ' (' + r.timestamps + ' of ' + r.checkpoints + ' checkpoints timestamped).');
    r.cosigners.forEach(function (c) { out.push('Cosigned by witness ' + c.name + ' at ' + time(c.time) + '.'); });
    if (r.trustedBundleKey) out.push('Warning: checked with the key the bundle names itself; give the firm\'s key obtained out of band to know the firm\'s log signed it.');
    return out;
  }

  function start() {
    var form = document.getElementById('verify-form');
    if (!form) return;
    var file = document.getElementById('bundle'), result = document.getElementById('result');
    var box = document.getElementById('progress-box'), bar = document.getElementById('progress'), button = document.getElementById('verify');
    form.addEventListener('submit', async function (ev) {
      ev.preventDefault();
      var f = file.files && file.files[0];
      if (!f) { show(result, 'error', null, 'Choose a bundle file first.'); file.focus(); return; }
      var o = {
        trusted: lines(document.getElementById('keys').value),
        witnesses: lines(document.getElementById('witness-keys').value),
        minWitnesses: 0
      };
      var k = document.getElementById('witnesses').value.trim();
      var age = document.getElementById('max-age').value.trim(), at = document.getElementById('at').value.trim();
      if (k !== '') o.minWitnesses = parseInt(k, 10);
      if (age !== '') {
        o.maxAge = CaseVaultVerify.parseDuration(age);
        o.maxAgeText = age;
        if (o.maxAge === null || o.maxAge < 0) { show(result, 'error', null, 'The maximum age is not a duration such as 24h or 90m.'); return; }
      }
      if (at !== '') {
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(at) || isNaN(Date.parse(at))) {
          show(result, 'error', null, 'The time to judge the age at is not an RFC 3339 time such as 2026-03-02T17:30:00Z.');
          return;
        }
        o.at = Date.parse(at) / 1000;
      }
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
      show(result, 'running', null, 'Verifying ' + f.name + '…');
      var read = 0, size = f.size || 1, shown = -1;
      box.hidden = f.size < (1 << 20);
      bar.value = 0;
      var counter = new TransformStream({
        transform: function (chunk, c) {
          read += chunk.byteLength;
          var pct = Math.floor(100 * read / size);
          if (pct !== shown) { shown = pct; bar.value = pct; box.dataset.progress = String(pct); }
          c.enqueue(chunk);
        }
      });
      var stream = f.stream().pipeThrough(counter).pipeThrough(new TextDecoderStream('utf-8', { ignoreBOM: true }));
      try {
        var r = await CaseVaultVerify.verify(stream, o);
        show(result, 'ok', 0, 'Verified: ' + r.events + ' events, checkpoint size ' + r.treeSize + ', root ' + r.root, describe(r));
      } catch (e) {
        if (e instanceof CaseVaultVerify.VerifyError) {
          if (e.seq !== 0) show(result, 'fail', e.seq, 'Failed at seq ' + e.seq + ': ' + e.reason, null, 'event');
          else { var c = category(e.reason); show(result, 'fail', 0, 'Failed (' + c + '): ' + e.reason, null, c); }
        } else if (e instanceof CaseVaultVerify.InputError) {
          show(result, 'error', null, 'Cannot verify: ' + e.reason);
        } else {
          show(result, 'error', null, 'Cannot read the bundle: ' + (e && e.message ? e.message : String(e)));
        }
      } finally {
        stream.cancel().catch(function () {});
        button.disabled = false;
        button.removeAttribute('aria-busy');
        bar.value = 100;
      }
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
