// CaseVault audit bundle verifier, in the browser: event lines, the end of
// a bundle, the export event and the age checks (docs/AUDIT-FORMAT.md §7
// steps 4, 6 and 7, and "Naming the event at fault"), after audit.Verify
// (audit/verify_event.go, audit/verify_export.go). And verify(), the entry
// point.
(function () {
  'use strict';

  var F = window.CaseVaultFormat, f = F.f, V = window.CaseVaultVerifier.prototype;

  // checkRoot compares the root of the events so far with a signed root.
  V.checkRoot = async function (size, root) {
    var got = await this.tree.root(), p = this.pending;
    if (!p) {
      if (!f.equal(got, root)) {
        throw this.fail(size, 'the first ' + size + ' events do not hash to the root signed for tree size ' + size + ': event ' + size + ', or the chain of events before it, was altered');
      }
      return;
    }
    // The break is at the last event: if leaf N-1 alone was altered,
    // putting back the hash N links to restores the signed root.
    if (!f.equal(got, root) && p.claimed) {
      var alt = p.before.clone();
      alt.push(p.claimed);
      alt.push(p.hash);
      if (f.equal(await alt.root(), root)) throw this.resolve(true);
    }
    throw this.resolve(false);
  };

  V.event = async function (m) {
    if (this.complete && m.has('proof')) throw this.failAt(0, 'event on line ' + this.line + " has an inclusion proof: a complete bundle's events carry none");
    var seq = f.int64(m.get('seq'));
    this.sequence(seq);
    var leaf = m.leafBytes !== undefined ? m.leafBytes : f.b64(m.get('leaf'));
    if (leaf === null) {
      if (this.pending) throw this.resolve(false);
      throw this.fail(seq, 'leaf of event ' + seq + ' is not base64');
    }
    var e;
    try {
      e = f.parseLeaf(leaf);
    } catch (err) {
      if (this.pending) throw this.resolve(false);
      throw this.fail(seq, 'leaf does not decode: ' + err.message);
    }
    var h = await (m.leafHash || f.leafHash(leaf));
    if (this.complete) this.checkLink(seq, e, h);
    if (e.seq !== seq) throw this.fail(seq, 'leaf of event ' + seq + ' says seq ' + e.seq);
    if (e.tenant !== this.tenant) throw this.fail(seq, 'leaf of event ' + seq + ' is of firm ' + JSON.stringify(e.tenant) + ', not ' + JSON.stringify(this.tenant));
    if (e.v < this.version) throw this.fail(seq, 'event ' + seq + ' has format version ' + e.v + ' after an event of version ' + this.version + ': a log never returns to an older version');
    this.version = e.v;
    this.leafMeaning(seq, e);
    await this.private(seq, e, m);
    this.retires(seq, e);
    if (!this.complete) {
      if (seq <= this.lastCk) throw this.fail(seq, 'event ' + seq + ' is out of place after the checkpoint of size ' + this.lastCk);
      await this.proof(seq, h, m);
      this.lastSeq = seq;
      this.events++;
      if (seq === this.size && this.format === f.FORMAT2) this.exportEvent(e, m);
      return;
    }
    this.tree.push(h);
    if (this.tree.leaves.length >= 1024) await this.tree.flush(); // memory stays bounded
    this.link2 = this.link;
    this.link = f.bytesToB64(h);
    this.lastSeq = seq;
    this.events++;
    if (seq === this.size) {
      await this.checkRoot(seq, this.root);
      if (this.format === f.FORMAT2) this.exportEvent(e, m);
    }
  };

  V.sequence = function (seq) {
    if (this.complete) {
      var want = this.lastSeq + 1;
      if (seq === want) {
        // in order
      } else if (this.pending) {
        // The event after a break is not its successor: the event at the
        // break is the odd one.
        throw this.resolve(false);
      } else if (seq <= this.lastSeq) {
        this.repeated(seq);
      } else if (want > this.size) {
        throw this.fail(seq, 'event ' + seq + " is beyond the bundle's tree size " + this.size);
      } else {
        throw this.fail(want, 'event ' + want + ' is missing (event ' + seq + ' follows event ' + this.lastSeq + ')');
      }
    } else if (seq <= this.lastSeq) {
      this.repeated(seq);
    }
    if (seq < 1 || seq > this.size) throw this.failAt(seq, 'event ' + seq + " is beyond the bundle's tree size " + this.size);
  };

  V.repeated = function (seq) {
    if (seq === this.lastSeq) throw this.fail(seq, 'event ' + seq + ' appears twice');
    throw this.fail(seq, 'event ' + seq + ' is out of order: it follows event ' + this.lastSeq);
  };

  // leafMeaning is §2 "What a leaf says".
  V.leafMeaning = function (seq, e) {
    if (!f.validTime(e.time)) throw this.fail(seq, 'event ' + seq + ' has time ' + JSON.stringify(e.time) + ', not in the layout 2006-01-02T15:04:05.000000000Z');
    if (e.time < this.lastTime) throw this.fail(seq, 'event ' + seq + ' has time ' + e.time + ', before the time ' + this.lastTime + ' of the event line before it');
    if (e.outcome !== 'ok' && e.outcome !== 'denied' && e.outcome !== 'error') throw this.fail(seq, 'event ' + seq + ' has outcome ' + JSON.stringify(e.outcome) + ', not ok, denied or error');
    if ((e.sealed === '') !== (e.commit === '')) throw this.fail(seq, 'event ' + seq + ' has a sealed private part without a commitment, or a commitment without one');
    if (e.commit !== '') {
      var c = f.b64(e.commit);
      if (c === null || c.length !== 32) throw this.fail(seq, 'event ' + seq + ' has a commitment that is not the base64 of 32 bytes');
      if (f.b64(e.sealed) === null) throw this.fail(seq, 'event ' + seq + ' has a sealed private part that is not canonical base64');
    }
    this.lastTime = e.time;
  };

  // private checks the private part, when the bundle has it, against the
  // leaf's commitment (§3).
  V.private = async function (seq, e, m) {
    var hasP = m.has('private'), hasN = m.has('nonce');
    if (!hasP && !hasN) return;
    if (!hasP || !hasN) throw this.fail(seq, 'event ' + seq + ' has a private part without its nonce, or a nonce without a private part');
    var nonce = f.b64(m.get('nonce'));
    if (nonce === null || nonce.length !== 32) throw this.fail(seq, 'event ' + seq + ' has a nonce that is not 32 bytes in base64');
    if (e.commit === '') throw this.fail(seq, 'event ' + seq + ' has a private part but its leaf commits to none');
    var sum = await (m.commit || f.sha256(concat2(nonce, f.enc.encode(m.get('private')))));
    if (f.bytesToB64(sum) !== e.commit) throw this.fail(seq, 'private part of event ' + seq + " does not match the leaf's commitment");
  };
  function concat2(a, b) { var o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; }

  // proof checks a filtered bundle's inclusion proof (§6).
  V.proof = async function (seq, h, m) {
    if (!m.has('proof')) throw this.fail(seq, 'event ' + seq + ' has no inclusion proof');
    var ps = m.get('proof'), p = [];
    for (var i = 0; i < ps.length; i++) {
      var x = f.b64(ps[i]);
      if (x === null || x.length !== 32) throw this.fail(seq, 'inclusion proof of event ' + seq + ': hash ' + i + ' is malformed');
      p.push(x);
    }
    var r = await f.runProof(p, 0, this.size, seq - 1, h);
    if (!r || !f.equal(r, this.root)) throw this.fail(seq, 'inclusion proof of event ' + seq + ' in the tree of size ' + this.size + ' does not verify');
  };

  // checkLink checks event seq's prev against the leaf before it; a
  // mismatch stays pending until what follows tells which of the two was
  // altered.
  V.checkLink = function (seq, e, h) {
    if (seq === 1) {
      if (e.prev !== '') throw this.fail(1, 'event 1 has a prev; the first event links to none');
      return;
    }
    if (e.prev === this.link) {
      if (this.pending) throw this.resolve(true);
      return;
    }
    if (this.pending) throw this.resolve(false);
    if (e.prev === this.link2) throw this.fail(seq - 1, 'event ' + (seq - 1) + ' was inserted: event ' + seq + ' links to the leaf before it');
    var claimed = f.lenientB64(e.prev);
    this.pending = { seq: seq, hash: h, claimed: claimed && claimed.length === 32 ? claimed : null, before: this.tree.withoutLast() };
  };

  // exportEvent checks event S of a bundle of format /2: the export's own
  // audit.export event, which the header must agree with.
  V.exportEvent = function (e, m) {
    var d = e.details, get = function (k) { return d.has(k) ? d.get(k) : ''; };
    if (e.action !== 'audit.export') throw this.failAt(0, 'the last event, ' + e.seq + ', is ' + e.action + ", not the export's own audit.export event: the bundle does not end where its export did");
    if (e.outcome !== 'ok') throw this.failAt(0, 'the export event ' + e.seq + ' has outcome ' + e.outcome + ', not ok');
    if (get('export_id') !== this.exportID) throw this.failAt(0, "the header's export_id " + JSON.stringify(this.exportID) + " is not the export event's " + JSON.stringify(get('export_id')));
    if (e.time !== this.exportedAt) throw this.failAt(0, "the header's exported_at " + this.exportedAt + " is not the export event's time " + e.time);
    if (get('format') !== 'jsonl') throw this.failAt(0, 'the export event ' + e.seq + ' is of format ' + JSON.stringify(get('format')) + ', not jsonl');
    var why = filterMismatch(this.filter, d);
    if (why) throw this.failAt(0, "the header's filter is not the export event's: " + why);
    var info = { id: this.exportID, seq: e.seq, actorID: e.actor_id, actorEmail: '', time: e.time };
    if (e.v === 1) {
      info.actorEmail = e.actor_email;
    } else if (m.has('private')) {
      try {
        var p = JSON.parse(m.get('private'));
        if (p && typeof p.actor_email === 'string') info.actorEmail = p.actor_email;
      } catch (err) { /* no email to show */ }
    }
    this.exportInfo = info;
  };

  function filterMismatch(filter, details) {
    var known = {};
    for (var member in f.filterDetail) {
      var detail = f.filterDetail[member];
      known[detail] = true;
      var w = filter[member] || '', has = details.has(detail), got = has ? details.get(detail) : '';
      if (w === '' && has) return 'the event has ' + detail + ' ' + JSON.stringify(got) + ', the header no ' + member;
      if (w !== '' && !has) return 'the header has ' + member + ' ' + JSON.stringify(w) + ', the event no ' + detail;
      if (w !== got) return 'the header has ' + member + ' ' + JSON.stringify(w) + ', the event ' + detail + ' ' + JSON.stringify(got);
    }
    var extra = '';
    details.forEach(function (_, k) { if (!extra && k.startsWith('filter_') && !known[k]) extra = k; });
    return extra ? 'the event has ' + extra + ', which no header filter member states' : '';
  }

  V.end = async function (m) {
    var n = f.int64(m.get('events'));
    if (this.complete && this.lastSeq < this.size) throw this.failAt(this.lastSeq + 1, 'event ' + (this.lastSeq + 1) + ' is missing: the bundle ends at event ' + this.lastSeq + ' of ' + this.size);
    if (this.format === f.FORMAT2 && this.lastSeq < this.size) throw this.failAt(this.size, 'event ' + this.size + ", the export's own audit.export event, is missing: a bundle of format /2 ends with it");
    if (n !== this.events) throw this.failAt(0, 'end line counts ' + n + ' events, the bundle has ' + this.events);
    if (this.pending) throw this.resolve(true);
    this.keyRule(this.headSigners, this.size, "the bundle's checkpoint on line 2");
  };

  V.eof = async function () {
    if (this.line === 0) return this.fail(0, 'the bundle is empty');
    if (this.line === 1) return this.fail(0, 'the bundle has no checkpoint');
    if (this.complete && this.lastSeq < this.size) return this.failAt(this.lastSeq + 1, 'event ' + (this.lastSeq + 1) + ' is missing: the bundle is cut short after event ' + this.lastSeq + ' of ' + this.size);
    return this.failAt(0, 'the bundle has no end line: it is cut short');
  };

  function rfc3339(sec) { return new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'); }

  // checkTimes is §7 step 7 (--at, --max-age), once all the rest passed.
  V.checkTimes = function () {
    var o = this.o;
    if (o.at === null && !o.maxAge) return;
    var at = o.at === null ? Date.now() / 1000 : o.at;
    if (this.timestamps > 0 && this.newest > at + f.MAX_SKEW) throw this.fail(0, 'a checkpoint is timestamped ' + rfc3339(this.newest) + ', more than 5m0s after ' + rfc3339(Math.floor(at)));
    if (!(o.maxAge > 0)) return;
    if (this.format !== f.FORMAT2) throw this.fail(0, 'the bundle is of format ' + this.format + ', which proves no time: its age cannot be bounded (--max-age needs format /2)');
    if (at - this.newest > o.maxAge) throw this.fail(0, 'its newest checkpoint is timestamped ' + rfc3339(this.newest) + ', more than ' + o.maxAgeText + ' before ' + rfc3339(Math.floor(at)));
  };

  // parseKeys reads the trusted keys, as `casevault audit verify` does
  // its --key flags; a key given twice counts once.
  async function parseKeys(list) {
    var out = [];
    for (var i = 0; i < list.length; i++) {
      try { await f.noteVerifier(list[i]); } catch (e) { throw new F.InputError('trusted key ' + JSON.stringify(list[i]) + ' is not a note verifier key: ' + e.message); }
      if (out.indexOf(list[i]) < 0) out.push(list[i]);
    }
    return out;
  }

  // parseWitnesses is audit.Verify's parseWitnessKeys.
  async function parseWitnesses(list, min) {
    if (list.length === 0) {
      if (min > 0) throw new F.InputError(min + ' witnesses required but no witness key given');
      return null;
    }
    var wk = { byID: new Map(), k: min };
    for (var i = 0; i < list.length; i++) {
      var v;
      try { v = await f.witnessKey(list[i]); } catch (e) { throw new F.InputError('witness key ' + JSON.stringify(list[i]) + ': ' + e.message); }
      var id = v.name + '+' + f.hex8(v.hash);
      if (wk.byID.has(id)) throw new F.InputError('witness key ' + JSON.stringify(list[i]) + ' is given twice');
      wk.byID.set(id, v);
    }
    if (wk.k === 0) wk.k = wk.byID.size;
    else if (wk.k < 0 || wk.k > wk.byID.size) throw new F.InputError(wk.k + ' witnesses required of the ' + wk.byID.size + ' witness keys given');
    return wk;
  }

  // verify checks the bundle read from a stream of text. Options: trusted
  // (verifier keys; none: the bundle's own key), witnesses (cosignature
  // keys), minWitnesses (0: all), at (Unix seconds, or null), maxAge
  // (seconds, 0: not checked) and maxAgeText (as typed, for messages).
  async function verify(stream, o) {
    var opts = {
      trusted: await parseKeys(o.trusted || []),
      witnesses: await parseWitnesses(o.witnesses || [], o.minWitnesses || 0),
      at: o.at === undefined ? null : o.at, maxAge: o.maxAge || 0, maxAgeText: o.maxAgeText || ''
    };
    var v = new window.CaseVaultVerifier(opts);
    await v.run(stream);
    v.checkTimes();
    return {
      tenant: v.tenant, complete: v.complete, events: v.events, checkpoints: v.checkpoints,
      treeSize: v.size, root: f.bytesToB64(v.root), format: v.format, exportInfo: v.exportInfo,
      timestamps: v.timestamps, newest: v.newest, headTime: v.headTime, cosigners: v.cosignedBy,
      trustedBundleKey: opts.trusted.length === 0
    };
  }

  // parseDuration reads a Go duration ("24h", "90m", "1h30m"); seconds.
  function parseDuration(s) {
    var m, total = 0, re = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)/y, units = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    if (s === '0') return 0;
    if (s === '') return null;
    var i = 0;
    while (i < s.length) {
      re.lastIndex = i;
      m = re.exec(s);
      if (!m) return null;
      total += parseFloat(m[1]) * units[m[2]];
      i = re.lastIndex;
    }
    return total;
  }

  window.CaseVaultVerify = { verify: verify, parseDuration: parseDuration, VerifyError: F.VerifyError, InputError: F.InputError };
})();
