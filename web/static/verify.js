// CaseVault audit bundle verifier, in the browser.
//
// docs/AUDIT-FORMAT.md §7 in plain JavaScript with WebCrypto, on the
// pieces of verify-format.js: it reads a JSONL bundle line by line from a
// stream (so a large file is never held whole), checks each line completely
// before it reads the next, and reports the first failure with the sequence
// number `casevault audit verify` (audit.Verify) names for it, with the
// same rule for a pending chain break. It sends nothing anywhere.
//
// CaseVaultVerify.verify(textStream, options) resolves to a result, or
// rejects with a VerifyError {seq, reason} (the bundle failed) or an
// InputError {reason} (a key or option given to it is malformed).
(function () {
  'use strict';

  var F = window.CaseVaultFormat, f = F.f;

  function failure(seq, reason) { return new F.VerifyError(seq, reason); }

  // lines yields the lines of a text stream without their LF; bytes after
  // the last LF come as a final {text, final: true} (§1 rule 1).
  async function* lines(stream) {
    var reader = stream.getReader(), buf = '';
    try {
      for (;;) {
        var r = await reader.read();
        if (r.done) break;
        buf += r.value;
        var start = 0, i;
        while ((i = buf.indexOf('\n', start)) >= 0) {
          yield { text: buf.slice(start, i) };
          start = i + 1;
        }
        buf = buf.slice(start);
        if (buf.length > f.MAX_LINE) yield { tooLong: true };
      }
      if (buf.length > 0) yield { text: buf, final: true };
    } finally {
      reader.releaseLock();
    }
  }

  function Verifier(o) {
    this.o = o;
    this.line = 0;
    this.tenant = ''; this.complete = false; this.size = 0; this.root = null;
    this.trusted = o.trusted; this.keys = []; this.keyOf = {};
    this.retiredAt = new Map(); this.headSigners = []; this.lastSigners = [];
    this.heir = ''; this.heirFrom = 0; this.heirSeq = 0;
    this.format = ''; this.tsKeys = []; this.exportID = ''; this.exportedAt = ''; this.filter = {};
    this.exportInfo = null; this.timestamps = 0; this.newest = null; this.headTime = null;
    this.events = 0; this.checkpoints = 0; this.lastSeq = 0; this.lastCk = 0; this.version = 0; this.lastTime = '';
    this.tree = new f.Tree(); this.link = ''; this.link2 = ''; this.pending = null;
    this.witnesses = o.witnesses; this.cosignedBy = [];
  }
  var V = Verifier.prototype;

  V.fail = function (seq, reason) { return failure(seq, reason); };
  // failAt reports a failure, unless a chain break is pending at another
  // event: it is then reported as an alteration of the leaf before it.
  V.failAt = function (seq, reason) {
    if (this.pending && seq !== this.pending.seq) return this.resolve(true);
    return failure(seq, reason);
  };
  V.resolve = function (earlier) {
    var n = this.pending.seq;
    if (earlier) return failure(n - 1, 'event ' + (n - 1) + ' was altered: event ' + n + ' links to a different leaf ' + (n - 1));
    return failure(n, 'event ' + n + ' does not link to event ' + (n - 1) + ' (its prev is not the hash of leaf ' + (n - 1) + ')');
  };

  // batchSize is how many lines are read, parsed and hashed ahead of the
  // checks: the digests of a batch run together, which WebCrypto (async)
  // needs to be fast. Nothing about the result depends on it.
  var batchSize = 256;

  // prepare parses the lines of a batch and starts the SHA-256 of each
  // event's leaf and private part; the checks, in order, use the results.
  function prepare(batch) {
    batch.forEach(function (x) {
      if (x.tooLong || x.final) return;
      try { x.l = f.readLine(x.text); } catch (e) { x.err = e; return; }
      var m = x.l.m;
      if (x.l.type !== 'event' || x.l.unknown) return;
      m.leafBytes = f.b64(m.get('leaf'));
      if (m.leafBytes !== null) m.leafHash = f.leafHash(m.leafBytes);
      var nonce = m.has('nonce') && m.has('private') ? f.b64(m.get('nonce')) : null;
      if (nonce !== null && nonce.length === 32) {
        var p = f.enc.encode(m.get('private')), b = new Uint8Array(32 + p.length);
        b.set(nonce);
        b.set(p, 32);
        m.commit = f.sha256(b);
      }
    });
  }

  V.run = async function (stream) {
    var it = lines(stream), done = false, ended = false;
    while (!done) {
      var batch = [], r;
      while (batch.length < batchSize) {
        r = await it.next();
        if (r.done) { done = true; break; }
        batch.push(r.value);
        if (r.value.final || r.value.tooLong) break;
      }
      prepare(batch);
      for (var i = 0; i < batch.length; i++) {
        var x = batch[i];
        if (x.tooLong) throw this.fail(0, 'line ' + (this.line + 1) + ' is longer than ' + f.MAX_LINE + ' bytes');
        this.line++;
        if (ended) throw this.fail(0, 'line ' + this.line + ' follows the end line');
        if (x.final) { this.line--; throw await this.eof(); }
        if (x.err) throw this.failAt(0, 'line ' + this.line + ' is not a JSON object of the bundle format: ' + x.err.message);
        var l = x.l;
        if (this.line === 1) { await this.header(l); continue; }
        if (this.line === 2) {
          if (l.type !== 'checkpoint' || l.unknown) throw this.fail(0, "line 2 is not the bundle's checkpoint");
          await this.headCheckpoint(l.m);
          continue;
        }
        if (l.unknown) throw this.failAt(0, 'line ' + this.line + ' has unknown type ' + JSON.stringify(l.type));
        switch (l.type) {
          case 'event': await this.event(l.m); break;
          case 'checkpoint': await this.checkpoint(l.m); break;
          case 'end': await this.end(l.m); ended = true; break;
          case 'header': throw this.failAt(0, 'line ' + this.line + ' is a second header');
        }
      }
      if (this.o.onLines) this.o.onLines(this.line);
    }
    if (ended) return;
    throw await this.eof();
  };

  V.header = async function (l) {
    if (l.type !== 'header' || l.unknown) throw this.fail(0, 'line 1 is not a bundle header');
    var m = l.m, format = m.get('format');
    if (format !== f.FORMAT2 && format !== f.FORMAT1) throw this.fail(0, 'header format is not "' + f.FORMAT2 + '" (or the older "' + f.FORMAT1 + '")');
    this.format = format;
    if (format === f.FORMAT2 && (!m.has('export_id') || m.get('export_id') === '')) throw this.fail(0, 'header lacks export_id, which format /2 requires');
    if (format === f.FORMAT1 && m.has('export_id')) throw this.fail(0, 'header has export_id, which format /1 does not');
    this.tenant = m.get('tenant'); this.complete = m.get('complete');
    if (m.get('origin') !== f.origin(this.tenant)) throw this.fail(0, 'header origin ' + JSON.stringify(m.get('origin')) + ' is not ' + JSON.stringify(f.origin(this.tenant)));
    if (!f.validTime(m.get('exported_at'))) throw this.fail(0, 'header exported_at ' + JSON.stringify(m.get('exported_at')) + ' is not a time in the layout 2006-01-02T15:04:05.000000000Z');
    var filter;
    try { filter = f.checkFilter(m.get('filter')); } catch (e) { throw this.fail(0, 'header ' + e.message); }
    if (this.complete !== (m.get('filter').size === 0)) throw this.fail(0, 'header says complete=' + this.complete + ' with a filter that says otherwise');
    if (format === f.FORMAT2) { this.exportID = m.get('export_id'); this.exportedAt = m.get('exported_at'); this.filter = filter; }
    var vk = m.get('verifier_key');
    if (this.trusted.length > 0 && this.trusted.indexOf(vk) < 0) {
      throw this.fail(0, "the bundle's verifier key " + JSON.stringify(vk) + (this.trusted.length === 1 ? ' is not the trusted key' : ' is none of the trusted keys'));
    }
    try { await f.noteVerifier(vk); } catch (e) { throw this.fail(0, 'header verifier key is malformed: ' + e.message); }
    var keys = this.trusted.length > 0 ? this.trusted : [vk];
    for (var i = 0; i < keys.length; i++) {
      var nv;
      try { nv = await f.noteVerifier(keys[i]); } catch (e) { throw this.fail(0, 'trusted key ' + JSON.stringify(keys[i]) + ' is malformed: ' + e.message); }
      // Each key also checks the log's timestamp lines, made with it under
      // the same name (§5).
      var tv = await f.cosignatureVerifier(nv.name, nv.pub);
      this.keys.push(nv, tv);
      this.tsKeys.push(tv);
      this.keyOf[nv.name + '+' + nv.hash] = keys[i];
    }
  };

  V.signers = function (n) {
    var out = [], self = this;
    n.sigs.forEach(function (s) { var k = self.keyOf[s.name + '+' + s.hash]; if (k !== undefined) out.push(k); });
    return out;
  };

  // timestampOf returns the time (seconds) of n's verified timestamp line,
  // null when it has none; it throws when that line is malformed.
  V.timestampOf = function (n) {
    for (var i = 0; i < n.sigs.length; i++) {
      var s = n.sigs[i];
      if (this.tsKeys.some(function (t) { return t.name === s.name && t.hash === s.hash; })) {
        if (s.sig.length < 12) throw new Error('malformed cosignature');
        var t = f.u64(s.sig, 4);
        if (t > (1n << 63n) - 1n) throw new Error('malformed cosignature');
        return Number(t);
      }
    }
    return null;
  };

  V.openCheckpoint = async function (m) {
    var note = m.get('note'), line = this.line, n, cp;
    try { await f.checkNoteEncoding(note, this.keys); } catch (e) { throw this.failAt(0, 'checkpoint on line ' + line + ': ' + e.message); }
    try { n = await f.openNote(note, this.keys); } catch (e) { throw this.failAt(0, 'checkpoint on line ' + line + ' is not signed by the verifier key: ' + e.message); }
    this.lastSigners = this.signers(n);
    // Only a timestamp line of a trusted key verified: it vouches for a
    // time, not for the checkpoint (AUDIT-FORMAT.md §5).
    if (this.lastSigners.length === 0) throw this.failAt(0, 'checkpoint on line ' + line + ' is not signed by the verifier key: it has only the key\'s timestamp line');
    try { cp = f.parseCheckpointText(n.text); } catch (e) { throw this.failAt(0, 'checkpoint on line ' + line + ': ' + e.message); }
    if (cp.origin !== f.origin(this.tenant)) throw this.failAt(0, 'checkpoint on line ' + line + ' is of log ' + JSON.stringify(cp.origin) + ', not ' + JSON.stringify(f.origin(this.tenant)));
    var t;
    try { t = this.timestampOf(n); } catch (e) { throw this.failAt(0, 'checkpoint on line ' + line + ' has a malformed timestamp: ' + e.message); }
    if (t === null) {
      if (this.format === f.FORMAT2) throw this.failAt(0, 'checkpoint on line ' + line + " has no timestamp of the log's key, which format /2 requires");
    } else {
      this.timestamps++;
      if (this.newest === null || t > this.newest) this.newest = t;
      if (line === 2) this.headTime = t;
    }
    await this.witnessed(note, line === 2);
    this.checkpoints++;
    return cp;
  };

  V.headCheckpoint = async function (m) {
    if (m.has('consistency')) throw this.fail(0, "the bundle's checkpoint on line 2 has a consistency proof; only a filtered bundle's later checkpoints do");
    var cp = await this.openCheckpoint(m);
    this.size = cp.size; this.root = cp.root;
    this.headSigners = this.lastSigners;
    if (this.complete && cp.size === 0) await this.checkRoot(0, cp.root);
  };

  V.checkpoint = async function (m) {
    var line = this.line;
    if (this.complete && m.has('consistency')) throw this.failAt(0, 'checkpoint on line ' + line + " has a consistency proof: a complete bundle's checkpoints carry none");
    if (!this.complete && !m.has('consistency')) throw this.failAt(0, 'checkpoint on line ' + line + ' has no consistency proof');
    var cp = await this.openCheckpoint(m), size = cp.size;
    if (!this.complete) {
      await this.provedCheckpoint(m.get('consistency'), size, cp.root);
      return this.keyRule(this.lastSigners, size, 'checkpoint on line ' + line);
    }
    if (size > this.size) throw this.failAt(0, 'checkpoint on line ' + line + ' has size ' + size + ", beyond the bundle's tree size " + this.size);
    if (size > this.lastSeq) throw this.failAt(this.lastSeq + 1, 'event ' + (this.lastSeq + 1) + ' is missing (a checkpoint of size ' + size + ' follows event ' + this.lastSeq + ')');
    if (size < this.lastSeq) throw this.failAt(0, 'checkpoint on line ' + line + ', of size ' + size + ', is out of place after event ' + this.lastSeq);
    await this.checkRoot(size, cp.root);
    return this.keyRule(this.lastSigners, size, 'checkpoint on line ' + line);
  };

  V.provedCheckpoint = async function (cs, size, root) {
    var line = this.line;
    if (size < 1 || size > this.size) throw this.fail(0, 'checkpoint on line ' + line + ' has size ' + size + ", outside the bundle's tree size 1 … " + this.size);
    if (size <= this.lastCk) throw this.fail(0, 'checkpoint on line ' + line + ', of size ' + size + ', follows one of size ' + this.lastCk);
    if (size < this.lastSeq) throw this.fail(0, 'checkpoint on line ' + line + ', of size ' + size + ', is out of place after event ' + this.lastSeq);
    var p = [];
    for (var i = 0; i < cs.length; i++) {
      var h = f.b64(cs[i]);
      if (h === null || h.length !== 32) throw this.fail(0, 'checkpoint on line ' + line + ': consistency proof hash ' + i + ' is malformed');
      p.push(h);
    }
    if (!(await f.checkConsistency(p, size, root, this.size, this.root))) {
      throw this.fail(0, 'checkpoint on line ' + line + ', of size ' + size + ", is not consistent with the bundle's checkpoint of size " + this.size);
    }
    this.lastCk = size;
  };

  // retires notes the key an audit.key_rotated event retires (for trees
  // that hold it) or a tenant.moved event retires (for trees larger than
  // the handover's), and the key that must sign after a move (§5).
  V.retires = function (seq, e) {
    if (e.action !== 'audit.key_rotated' && e.action !== 'tenant.moved') return;
    var old = e.details.get('old_key') || '', next = e.details.get('new_key') || '', from = seq;
    if (e.action === 'tenant.moved') {
      var keyOf = this.keyOf, trusted = Object.keys(keyOf).some(function (id) { return keyOf[id] === next; });
      if (!trusted) throw this.failAt(seq, 'the move at event ' + seq + ' names the new key ' + JSON.stringify(next) + ', which is not a trusted key (tenant.moved)');
      from = seq + 1;
      this.retiredAt.delete(next); // a firm that moves back signs with its old region's key again
      this.heir = next; this.heirFrom = seq + 1; this.heirSeq = seq;
    } else if (this.heir !== '' && old === this.heir) {
      this.heir = next;
    }
    if (old && !this.retiredAt.has(old)) this.retiredAt.set(old, { seq: seq, from: from, action: e.action });
  };

  // keyRule: a checkpoint of a tree of the given size is signed by a
  // trusted key that no rotation or move seen so far retired for that size;
  // in a complete bundle, a tree larger than a move's is signed by its new
  // key (or the one a rotation replaced it with) (§5).
  V.keyRule = function (signers, size, where) {
    var self = this, applies = false;
    this.retiredAt.forEach(function (r) { if (size >= r.from) applies = true; });
    var retired = function (k) { var r = self.retiredAt.get(k); return r !== undefined && size >= r.from ? r : null; };
    if (applies) {
      if (signers.length === 0) throw this.fail(0, where + ' is not signed by a trusted key');
      if (!signers.some(function (k) { return retired(k) === null; })) {
        var r = retired(signers[0]);
        throw this.fail(0, where + ' is signed only by a retired key: ' + signers[0] + ', retired at event ' + r.seq + ' (' + r.action + ')');
      }
    }
    if (this.complete && this.heir !== '' && size >= this.heirFrom && signers.indexOf(this.heir) < 0) {
      throw this.fail(0, where + ' is not signed by ' + this.heir + ', the new key of the move at event ' + this.heirSeq + ' (tenant.moved)');
    }
  };

  // cosigners checks every line of a given witness key in a note and
  // returns the witnesses that cosigned, by name.
  V.cosigners = async function (note) {
    var wk = this.witnesses, i = note.lastIndexOf('\n\n');
    if (i < 0) throw new Error('the note has no signature lines');
    var text = f.enc.encode(note.slice(0, i + 1)), sigs = note.slice(i + 2).replace(/\n$/, '').split('\n');
    var seen = new Map();
    for (var j = 0; j < sigs.length; j++) {
      var line = sigs[j], body = line.startsWith('\u2014 ') ? line.slice(2) : line;
      var sp = body.indexOf(' '), name = sp < 0 ? body : body.slice(0, sp), s64 = sp < 0 ? '' : body.slice(sp + 1);
      var sig = f.lenientB64(s64);
      if (sig === null || sig.length < 4) continue;
      var id = name + '+' + f.hex8(((sig[0] << 24) | (sig[1] << 16) | (sig[2] << 8) | sig[3]) >>> 0);
      var k = wk.byID.get(id);
      if (!k) continue;
      if (!(await k.verify(text, sig.subarray(4)))) throw new Error('the cosignature of witness ' + name + ' does not verify');
      var t = f.u64(sig, 4);
      if (t > (1n << 63n) - 1n) throw new Error('the cosignature of witness ' + name + ': malformed cosignature');
      if (!seen.has(id)) seen.set(id, { name: name, key: k.vkey, time: Number(t) });
    }
    return Array.from(seen.values()).sort(function (a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : 0; });
  };

  V.witnessed = async function (note, head) {
    if (!this.witnesses) return;
    var cs;
    try { cs = await this.cosigners(note); } catch (e) { throw this.failAt(0, 'checkpoint on line ' + this.line + ': ' + e.message); }
    if (!head) return;
    if (cs.length < this.witnesses.k) {
      var names = cs.map(function (c) { return c.name; }).join(', ') || 'none';
      throw this.fail(0, "the bundle's checkpoint is cosigned by " + cs.length + ' of the required ' + this.witnesses.k + ' witnesses (' + names + ')');
    }
    this.cosignedBy = cs;
  };

  window.CaseVaultVerifier = Verifier;
  window.CaseVaultLines = lines;
})();
