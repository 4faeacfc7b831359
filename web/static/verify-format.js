// CaseVault audit bundles, the pieces: canonical base64, SHA-256 and the
// RFC 6962 tree (§4, §6), strict JSON lines (§1 "Reading a line"), leaves
// (§2), signed notes, verifier keys and cosignatures (§5) of
// docs/AUDIT-FORMAT.md, with WebCrypto. verify.js puts them together into
// the checks of §7. Each follows the Go verifier (audit.Verify) where it
// is stricter or looser than the page says, so both judge a bundle alike.
(function () {
  'use strict';

  var FORMAT1 = 'casevault-audit-bundle/1';
  var FORMAT2 = 'casevault-audit-bundle/2';
  var MAX_LINE = 4 << 20;
  var MAX_SKEW = 5 * 60; // seconds (audit.MaxClockSkew)
  var enc = new TextEncoder();

  // VerifyError is the first check a bundle fails; seq is the event at
  // fault, 0 when the failure is about no one event.
  function VerifyError(seq, reason) { this.seq = seq; this.reason = reason; }
  // InputError is a problem with the verifier's own inputs (keys, options),
  // which `casevault audit verify` reports as a usage error.
  function InputError(reason) { this.reason = reason; }

  // ---- bytes, base64, hashes -------------------------------------------

  var B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

  function bytesToB64(b) {
    var s = '';
    for (var i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
    return btoa(s);
  }
  function b64Bytes(s) {
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  // b64 decodes canonical base64 (§1 rule 7): standard alphabet, padding,
  // nothing else, and zero padding bits; null otherwise.
  var ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  function b64(s) {
    if (typeof s !== 'string' || !B64.test(s)) return null;
    // The bits of the last character before padding that no byte uses
    // must be zero (what base64.StdEncoding.Strict checks).
    if (s.endsWith('==') && (ALPHABET.indexOf(s[s.length - 3]) & 0x0f) !== 0) return null;
    if (!s.endsWith('==') && s.endsWith('=') && (ALPHABET.indexOf(s[s.length - 2]) & 0x03) !== 0) return null;
    return b64Bytes(s);
  }
  // lenientB64 is Go's base64.StdEncoding.DecodeString: it skips CR and LF
  // and ignores padding bits.
  function lenientB64(s) {
    s = s.replace(/[\r\n]/g, '');
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return null;
    return b64Bytes(s);
  }
  function concat() {
    var n = 0, i;
    for (i = 0; i < arguments.length; i++) n += arguments[i].length;
    var out = new Uint8Array(n), o = 0;
    for (i = 0; i < arguments.length; i++) { out.set(arguments[i], o); o += arguments[i].length; }
    return out;
  }
  function equal(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  function u32(b) { return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0; }
  function hex8(n) { return ('0000000' + n.toString(16)).slice(-8); }
  function u64(b, o) { // a BigInt
    var x = 0n;
    for (var i = 0; i < 8; i++) x = (x << 8n) | BigInt(b[o + i]);
    return x;
  }

  async function sha256(b) { return new Uint8Array(await crypto.subtle.digest('SHA-256', b)); }
  var ZERO = new Uint8Array([0]), ONE = new Uint8Array([1]);
  function leafHash(leaf) { return sha256(concat(ZERO, leaf)); }
  function nodeHash(l, r) { return sha256(concat(ONE, l, r)); }

  // Tree is the stack of perfect-subtree roots of §4 (hashes, and their
  // heights). Leaves are pushed lazily and folded in when a root is asked
  // for, the node hashes of one level computed together: WebCrypto answers
  // each digest asynchronously, and waiting on each in turn is slow. before
  // is the tree without its last leaf, for the chain-break rule of §7.
  function Tree(n, stack, heights, leaves) {
    this.n = n || 0; this.stack = stack || []; this.heights = heights || []; this.leaves = leaves || []; this.before = null;
  }
  Tree.prototype.push = function (h) { this.leaves.push(h); };
  Tree.prototype.flush = async function () {
    if (this.leaves.length === 0) return;
    this.before = new Tree(this.n, this.stack.slice(), this.heights.slice(), this.leaves.slice(0, -1));
    // Items are perfect subtrees: first leaf's index, height, hash. Two
    // neighbours of one height merge when the left one starts at a
    // multiple of twice their size: the tree's split points (§4).
    var items = [], pos = 0, i;
    for (i = 0; i < this.stack.length; i++) {
      items.push({ pos: pos, h: this.heights[i], hash: this.stack[i] });
      pos += Math.pow(2, this.heights[i]);
    }
    for (i = 0; i < this.leaves.length; i++) items.push({ pos: this.n + i, h: 0, hash: this.leaves[i] });
    for (var lvl = 0; lvl < 64; lvl++) {
      var out = [], jobs = [];
      for (i = 0; i < items.length; i++) {
        var x = items[i], y = items[i + 1];
        if (x.h === lvl && y && y.h === lvl && x.pos % Math.pow(2, lvl + 1) === 0) {
          var m = { pos: x.pos, h: lvl + 1, hash: null };
          jobs.push(nodeHash(x.hash, y.hash).then(setHash(m)));
          out.push(m);
          i++;
        } else {
          out.push(x);
        }
      }
      await Promise.all(jobs);
      items = out;
      if (!items.some(function (z) { return z.h > lvl; }) && jobs.length === 0) break;
    }
    this.n += this.leaves.length;
    this.leaves = [];
    this.stack = items.map(function (z) { return z.hash; });
    this.heights = items.map(function (z) { return z.h; });
  };
  function setHash(item) { return function (h) { item.hash = h; }; }
  Tree.prototype.root = async function () {
    await this.flush();
    if (this.stack.length === 0) return sha256(new Uint8Array(0));
    var r = this.stack[this.stack.length - 1];
    for (var i = this.stack.length - 2; i >= 0; i--) r = await nodeHash(this.stack[i], r);
    return r;
  };
  Tree.prototype.clone = function () {
    var t = new Tree(this.n, this.stack.slice(), this.heights.slice(), this.leaves.slice());
    t.before = this.before;
    return t;
  };
  // withoutLast is the tree of every leaf but the last.
  Tree.prototype.withoutLast = function () {
    if (this.leaves.length > 0) return new Tree(this.n, this.stack.slice(), this.heights.slice(), this.leaves.slice(0, -1));
    return this.before ? this.before.clone() : new Tree();
  };

  function isPow2(n) { var k = 1; while (k < n) k *= 2; return k === n; }
  function largestPow2Below(n) { var k = 1; while (k * 2 < n) k *= 2; return k; }

  // runProof is run(p, lo, hi) of §6 (tlog.CheckRecord).
  async function runProof(p, lo, hi, m, h) {
    if (hi - lo === 1) return p.length === 0 ? h : null;
    if (p.length === 0) return null;
    var k = largestPow2Below(hi - lo), last = p[p.length - 1], rest = p.slice(0, -1), x;
    if (m < lo + k) {
      x = await runProof(rest, lo, lo + k, m, h);
      return x && nodeHash(x, last);
    }
    x = await runProof(rest, lo + k, hi, m, h);
    return x && nodeHash(last, x);
  }

  // checkConsistency is §6's consistency proof check (tlog.CheckTree):
  // the tree (m, m1) is a prefix of the tree (n, n1).
  async function checkConsistency(p, m, m1, n, n1) {
    if (m < 1 || m > n) return false;
    if (m === n) return p.length === 0 && equal(m1, n1);
    if (p.length === 0) return false;
    if (isPow2(m)) p = [m1].concat(p); // its root is the first node
    var fn = m - 1, sn = n - 1;
    while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    var fr = p[0], sr = p[0];
    for (var i = 1; i < p.length; i++) {
      var c = p[i];
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return equal(fr, m1) && equal(sr, n1) && sn === 0;
  }

  // ---- strict JSON (§1 "Reading a line") -----------------------------------

  // JNum is a JSON number, kept as its text.
  function JNum(raw) { this.raw = raw; }

  // parseJSON parses one JSON text (RFC 8259, as Go's encoding/json reads
  // it). Objects are Maps in member order; a repeated member name or a
  // null anywhere throws, as does anything after the value.
  function parseJSON(s) {
    var i = 0, depth = 0;
    function ws() { while (i < s.length) { var c = s.charCodeAt(i); if (c === 32 || c === 9 || c === 10 || c === 13) i++; else break; } }
    function err(m) { throw new Error(m); }
    function str() {
      i++; // the opening quote
      var out = '', start = i;
      for (;;) {
        if (i >= s.length) err('unterminated string');
        var c = s.charCodeAt(i);
        if (c === 34) { out += s.slice(start, i); i++; return out; }
        if (c < 0x20) err('a control character in a string');
        if (c === 92) {
          out += s.slice(start, i);
          var e = s[i + 1];
          switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u':
              var h = s.slice(i + 2, i + 6);
              if (!/^[0-9a-fA-F]{4}$/.test(h)) err('a bad \\u escape');
              out += String.fromCharCode(parseInt(h, 16));
              i += 4;
              break;
            default: err('a bad escape');
          }
          i += 2;
          start = i;
          continue;
        }
        i++;
      }
    }
    function value() {
      ws();
      var c = s[i];
      if (c === '{') {
        if (++depth > 1000) err('nests too deeply');
        i++;
        var m = new Map();
        ws();
        if (s[i] === '}') { i++; depth--; return m; }
        for (;;) {
          ws();
          if (s[i] !== '"') err('a member name is not a string');
          var k = str();
          ws();
          if (s[i] !== ':') err('no colon after a member name');
          i++;
          var v = value();
          if (m.has(k)) err('member "' + k + '" appears twice');
          m.set(k, v);
          ws();
          if (s[i] === ',') { i++; continue; }
          if (s[i] === '}') { i++; depth--; return m; }
          err('a bad object');
        }
      }
      if (c === '[') {
        if (++depth > 1000) err('nests too deeply');
        i++;
        var a = [];
        ws();
        if (s[i] === ']') { i++; depth--; return a; }
        for (;;) {
          a.push(value());
          ws();
          if (s[i] === ',') { i++; continue; }
          if (s[i] === ']') { i++; depth--; return a; }
          err('a bad array');
        }
      }
      if (c === '"') return str();
      if (s.startsWith('true', i)) { i += 4; return true; }
      if (s.startsWith('false', i)) { i += 5; return false; }
      if (s.startsWith('null', i)) { i += 4; err('a value is null'); }
      var num = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(s.slice(i, i + 400));
      if (num) { i += num[0].length; return new JNum(num[0]); }
      err('not JSON');
    }
    var v = value();
    ws();
    if (i !== s.length) err('more than one JSON value');
    return v;
  }

  var INT64_MAX = (1n << 63n) - 1n, INT64_MIN = -(1n << 63n);
  // int64 returns v as a number when it is a JSON integer in the int64
  // range (what Go decodes into an int64), else null.
  function int64(v) {
    if (!(v instanceof JNum) || !/^-?[0-9]+$/.test(v.raw)) return null;
    var b = BigInt(v.raw);
    if (b > INT64_MAX || b < INT64_MIN) return null;
    return Number(b);
  }
  function isStringArray(v) { return Array.isArray(v) && v.every(function (x) { return typeof x === 'string'; }); }

  // lineMembers are the members of each line type (§1); true: required.
  var lineMembers = {
    header: { type: true, format: true, tenant: true, origin: true, verifier_key: true, exported_at: true, export_id: false, filter: true, complete: true },
    checkpoint: { type: true, note: true, consistency: false },
    event: { type: true, seq: true, leaf: true, private: false, nonce: false, proof: false },
    end: { type: true, events: true }
  };
  // memberTypes are the JSON types of the members, as audit.Verify decodes
  // them.
  var memberTypes = {
    type: 's', format: 's', tenant: 's', origin: 's', verifier_key: 's', exported_at: 's', export_id: 's',
    filter: 'o', complete: 'b', note: 's', consistency: 'a', seq: 'i', leaf: 's', private: 's', nonce: 's',
    proof: 'a', events: 'i'
  };

  // readLine parses a bundle line by §1: one JSON object, exact and unique
  // names, no null, the members of its type with their JSON types. It
  // returns {type, m} (m the Map), or throws.
  function readLine(text) {
    var m = parseJSON(text);
    if (!(m instanceof Map)) throw new Error('not a JSON object');
    var typ = m.get('type');
    var want = typeof typ === 'string' ? lineMembers[typ] : undefined;
    if (want === undefined) return { type: typeof typ === 'string' ? typ : '', m: m, unknown: true };
    m.forEach(function (_, k) {
      if (!Object.prototype.hasOwnProperty.call(want, k)) throw new Error('a ' + typ + ' line has no member "' + k + '"');
    });
    Object.keys(want).forEach(function (k) {
      if (want[k] && !m.has(k)) throw new Error('a ' + typ + ' line lacks the member "' + k + '"');
    });
    m.forEach(function (v, k) {
      var ok;
      switch (memberTypes[k]) {
        case 's': ok = typeof v === 'string'; break;
        case 'b': ok = typeof v === 'boolean'; break;
        case 'o': ok = v instanceof Map; break;
        case 'a': ok = isStringArray(v); break;
        case 'i': ok = int64(v) !== null; break;
      }
      if (!ok) throw new Error('member "' + k + '" is not of its JSON type');
    });
    return { type: typ, m: m };
  }

  // ---- leaves (§2) -----------------------------------------------------------

  var leafMembers = {
    1: [['v', 'n'], ['tenant', 's'], ['seq', 'n'], ['id', 's'], ['time', 's'], ['prev', 's'], ['actor_id', 's'],
      ['actor_email', 's'], ['source', 's'], ['user_agent', 's'], ['action', 's'], ['object_type', 's'],
      ['object_id', 's'], ['outcome', 's'], ['details', 'o'], ['sealed', 's'], ['commit', 's']],
    2: [['v', 'n'], ['tenant', 's'], ['seq', 'n'], ['id', 's'], ['time', 's'], ['prev', 's'], ['actor_id', 's'],
      ['action', 's'], ['object_type', 's'], ['object_id', 's'], ['outcome', 's'], ['details', 'o'],
      ['sealed', 's'], ['commit', 's']]
  };

  // jsonString writes s as §2 escapes strings (Go's encoding/json with
  // HTML escaping off).
  function jsonString(s) {
    var out = '"';
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i), ch = s[i];
      if (ch === '"') out += '\\"';
      else if (ch === '\\') out += '\\\\';
      else if (c === 8) out += '\\b';
      else if (c === 12) out += '\\f';
      else if (c === 10) out += '\\n';
      else if (c === 13) out += '\\r';
      else if (c === 9) out += '\\t';
      else if (c < 0x20) out += '\\u00' + ('0' + c.toString(16)).slice(-2);
      else if (c === 0x2028) out += '\\u2028';
      else if (c === 0x2029) out += '\\u2029';
      else out += ch;
    }
    return out + '"';
  }
  // byteOrder compares strings in the byte order of their UTF-8 encoding
  // (code point order).
  function byteOrder(a, b) {
    var x = Array.from(a), y = Array.from(b);
    for (var i = 0; i < x.length && i < y.length; i++) {
      var p = x[i].codePointAt(0), q = y[i].codePointAt(0);
      if (p !== q) return p < q ? -1 : 1;
    }
    return x.length - y.length;
  }

  var leafDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  // parseLeaf checks that b is the canonical encoding of a version 1 or 2
  // leaf and returns what the checks need of it; it throws otherwise.
  function parseLeaf(b) {
    var text = leafDecoder.decode(b);
    var m = parseJSON(text);
    if (!(m instanceof Map)) throw new Error('entry is not a JSON object');
    var got = Array.from(m.entries());
    if (got.length === 0 || got[0][0] !== 'v' || !(got[0][1] instanceof JNum)) throw new Error('the first member is not the version v');
    var v = got[0][1].raw, want = leafMembers[v];
    if (v !== '1' && v !== '2') throw new Error('entry has version ' + v + ', want 1 or 2');
    if (got.length !== want.length) throw new Error('entry has ' + got.length + ' members, not ' + want.length);
    var l = { v: +v, details: new Map() }, out = '{';
    for (var i = 0; i < want.length; i++) {
      var name = want[i][0], kind = want[i][1], val = got[i][1];
      if (got[i][0] !== name) throw new Error('entry member ' + (i + 1) + ' is not ' + name);
      if (i > 0) out += ',';
      out += jsonString(name) + ':';
      if (kind === 'n') {
        var n = int64(val);
        if (n === null) throw new Error('entry member ' + name + ' is not an integer');
        out += BigInt(val.raw).toString();
        if (name === 'seq') l.seq = n;
      } else if (kind === 's') {
        if (typeof val !== 'string') throw new Error('entry member ' + name + ' is not a string');
        out += jsonString(val);
        l[name] = val;
      } else {
        if (!(val instanceof Map)) throw new Error('entry details is not an object');
        var d = Array.from(val.entries());
        d.forEach(function (kv) { if (typeof kv[1] !== 'string') throw new Error('a detail is not a string'); });
        d.sort(function (x, y) { return byteOrder(x[0], y[0]); });
        out += '{' + d.map(function (kv) { return jsonString(kv[0]) + ':' + jsonString(kv[1]); }).join(',') + '}';
        l.details = val;
      }
    }
    out += '}';
    if (out !== text) throw new Error('entry is not in canonical encoding');
    if (l.v === 2 && (l.actor_email || l.source || l.user_agent)) throw new Error('a version 2 entry keeps identities in its private part');
    return l;
  }

  var TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{9})Z$/;
  // validTime reports whether s is a time in the layout of §2, exactly as
  // that layout writes it.
  function validTime(s) {
    var m = TIME.exec(s);
    if (!m) return false;
    var y = +m[1], mo = +m[2], d = +m[3], h = +m[4], mi = +m[5], se = +m[6];
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return false;
    var days = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    return d <= days[mo - 1];
  }

  // ---- signed notes and keys (§5) ------------------------------------------------

  var SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
  function validName(name) { return name !== '' && !SPACE.test(name) && name.indexOf('+') < 0 && !/[\ud800-\udfff]/.test(name.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')); }

  function importEd25519(pub) {
    return crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
  }
  async function ed25519Verify(key, msg, sig) {
    if (sig.length !== 64) return false;
    try { return await crypto.subtle.verify({ name: 'Ed25519' }, key, sig, msg); } catch (e) { return false; }
  }
  async function keyHash(name, alg, pub) {
    return u32(await sha256(concat(enc.encode(name + '\n'), new Uint8Array([alg]), pub)));
  }

  // noteVerifier parses a note verifier key as audit.NewNoteVerifier does:
  // name+8 lowercase hex digits+canonical base64 of 0x01 ‖ 32 bytes, whose
  // key hash matches. It resolves to {name, hash, verify(msg, sig)} or
  // throws.
  async function noteVerifier(vkey) {
    var a = vkey.indexOf('+');
    var rest = a < 0 ? '' : vkey.slice(a + 1), b = rest.indexOf('+');
    if (a < 0 || b < 0) throw new Error('a verifier key is name+hash+key');
    var name = vkey.slice(0, a), hash = rest.slice(0, b), key64 = rest.slice(b + 1);
    if (!/^[0-9a-f]{8}$/.test(hash)) throw new Error('the key hash of a verifier key is 8 lowercase hex digits');
    var key = b64(key64);
    if (key === null) throw new Error('the key of a verifier key is not canonical base64');
    if (!validName(name) || key.length === 0) throw new Error('malformed verifier key');
    if (await keyHash(name, key[0], key.subarray(1)) !== parseInt(hash, 16)) throw new Error('invalid verifier key hash');
    if (key[0] !== 1) throw new Error('unknown verifier algorithm');
    if (key.length !== 33) throw new Error('malformed verifier key');
    var pub = key.slice(1), ck = await importEd25519(pub);
    return {
      name: name, hash: parseInt(hash, 16), pub: pub, vkey: vkey,
      verify: function (msg, sig) { return ed25519Verify(ck, msg, sig); }
    };
  }

  // cosignatureVerifier is a cosignature/v1 verifier (§5): the log's
  // timestamp key (from its note key's name and public key) or a witness's.
  async function cosignatureVerifier(name, pub) {
    var ck = await importEd25519(pub);
    return {
      name: name, hash: await keyHash(name, 4, pub), pub: pub,
      verify: async function (msg, sig) {
        if (sig.length !== 72) return false;
        if (!checkpointShape(new TextDecoder().decode(msg))) return false;
        var t = u64(sig, 0);
        var m = concat(enc.encode('cosignature/v1\ntime ' + t.toString() + '\n'), msg);
        return ed25519Verify(ck, m, sig.subarray(8));
      }
    };
  }
  function checkpointShape(text) {
    var ls = text.split('\n');
    return ls.length >= 4 && ls[ls.length - 1] === '' && ls[0] !== '' && /^(0|[1-9][0-9]*)$/.test(ls[1]) && b64(ls[2]) !== null && b64(ls[2]).length === 32;
  }

  // witnessKey parses a witness's cosignature verifier key as
  // audit.ParseCosignatureKey does.
  async function witnessKey(vkey) {
    var a = vkey.indexOf('+');
    var rest = a < 0 ? '' : vkey.slice(a + 1), b = rest.indexOf('+');
    var name = vkey.slice(0, a), hash = rest.slice(0, b), key = b < 0 ? null : lenientB64(rest.slice(b + 1));
    if (a < 0 || b < 0 || !/^[0-9a-fA-F]{8}$/.test(hash) || key === null || name === '') throw new Error('malformed witness key: want name+hash+base64');
    if (key.length !== 33 || key[0] !== 4) throw new Error('witness key is not a cosignature/v1 (algorithm 0x04) Ed25519 key');
    if (await keyHash(name, 4, key.subarray(1)) !== parseInt(hash, 16)) throw new Error('witness key hash does not match its name and key');
    if (!validName(name)) throw new Error('witness key: invalid name');
    var v = await cosignatureVerifier(name, key.slice(1));
    v.vkey = vkey;
    return v;
  }

  // Verifiers is note.VerifierList: lookup by name and key hash.
  function lookup(list, name, hash) {
    var found = list.filter(function (v) { return v.name === name && v.hash === hash; });
    if (found.length === 0) return { unknown: true };
    if (found.length > 1) return { ambiguous: true };
    return { v: found[0] };
  }

  // checkNoteEncoding is what note.Open leaves loose (§5): canonical base64
  // signatures, and every line of a known key verifying.
  async function checkNoteEncoding(msg, known) {
    var i = msg.lastIndexOf('\n\n');
    if (i < 0) throw new Error('note has no signature lines');
    var text = msg.slice(0, i + 1), sigs = msg.slice(i + 2);
    if (!sigs.endsWith('\n')) throw new Error('note does not end in LF');
    var tb = enc.encode(text), lines = sigs.slice(0, -1).split('\n');
    for (var j = 0; j < lines.length; j++) {
      var line = lines[j];
      if (!line.startsWith('\u2014 ')) throw new Error('note has a malformed signature line');
      var rest = line.slice(2), sp = rest.indexOf(' ');
      if (sp < 0) throw new Error('note has a malformed signature line');
      var name = rest.slice(0, sp), sig = b64(rest.slice(sp + 1));
      if (sig === null) throw new Error('note has a signature that is not canonical base64');
      if (sig.length < 5) throw new Error('note has a malformed signature line');
      var f = lookup(known, name, u32(sig));
      if (!f.v) continue;
      if (!(await f.v.verify(tb, sig.subarray(4)))) throw new Error('note has a signature line of key ' + name + ' that does not verify');
    }
  }

  // openNote is note.Open: it returns {text, sigs: [{name, hash, sig}]} of
  // the lines of known keys that verified, or throws.
  async function openNote(msg, known) {
    for (var k = 0; k < msg.length; k++) {
      var c = msg.charCodeAt(k);
      if (c < 0x20 && c !== 10) throw new Error('malformed note');
    }
    var i = msg.lastIndexOf('\n\n');
    if (i < 0) throw new Error('malformed note');
    var text = msg.slice(0, i + 1), sigs = msg.slice(i + 2);
    if (sigs.length === 0 || !sigs.endsWith('\n')) throw new Error('malformed note');
    var tb = enc.encode(text), out = [], seen = {}, num = 0;
    var lines = sigs.slice(0, -1).split('\n');
    for (var j = 0; j < lines.length; j++) {
      var line = lines[j];
      if (!line.startsWith('\u2014 ')) throw new Error('malformed note');
      line = line.slice(2);
      var sp = line.indexOf(' '), name = sp < 0 ? line : line.slice(0, sp), s64 = sp < 0 ? '' : line.slice(sp + 1);
      var sig = lenientB64(s64);
      if (sig === null || !validName(name) || s64 === '' || sig.length < 5) throw new Error('malformed note');
      if (++num > 100) throw new Error('malformed note');
      var hash = u32(sig), f = lookup(known, name, hash);
      if (f.unknown) continue;
      if (f.ambiguous) throw new Error('ambiguous key ' + name + '+' + hex8(hash));
      var id = name + '+' + hash;
      if (seen[id]) continue;
      seen[id] = true;
      if (!(await f.v.verify(tb, sig.subarray(4)))) throw new Error('invalid signature for key ' + name);
      out.push({ name: name, hash: hash, sig: sig });
    }
    if (out.length === 0) throw new Error('verification failed: no signature of a known key');
    return { text: text, sigs: out };
  }

  function parseCheckpointText(text) {
    var ls = text.split('\n');
    if (ls.length !== 4 || ls[3] !== '') throw new Error('checkpoint is not three lines');
    if (!/^(0|[1-9][0-9]*)$/.test(ls[1]) || BigInt(ls[1]) > INT64_MAX) throw new Error('checkpoint has a bad tree size');
    var root = b64(ls[2]);
    if (root === null || root.length !== 32) throw new Error('checkpoint has a bad root hash');
    return { origin: ls[0], size: Number(ls[1]), root: root };
  }

  function origin(tenant) { return 'casevault/audit/' + (tenant === '' ? 'service' : tenant); }

  var filterMembers = ['actor_id', 'object_type', 'object_id', 'matter_id', 'action', 'outcome', 'from', 'to', 'after_seq', 'limit'];
  var filterDetail = {
    actor_id: 'filter_actor_id', object_type: 'filter_object_type', object_id: 'filter_object_id',
    matter_id: 'filter_matter_id', action: 'filter_action', outcome: 'filter_outcome',
    from: 'filter_from', to: 'filter_to', after_seq: 'after_seq', limit: 'filter_limit'
  };

  // checkFilter checks a header's filter (§1 rule 8) and returns it as
  // member → text.
  function checkFilter(f) {
    var out = {};
    f.forEach(function (raw, k) {
      if (filterMembers.indexOf(k) < 0) throw new Error('filter has no member "' + k + '"');
      if (k === 'after_seq' || k === 'limit') {
        if (!(raw instanceof JNum) || !/^[1-9][0-9]*$/.test(raw.raw) || BigInt(raw.raw) > INT64_MAX) throw new Error('filter member "' + k + '" is not a positive integer');
        out[k] = raw.raw;
        return;
      }
      if (typeof raw !== 'string' || raw === '') throw new Error('filter member "' + k + '" is not a non-empty string');
      if ((k === 'from' || k === 'to') && !validTime(raw)) throw new Error('filter member "' + k + '" is not a time in the layout');
      out[k] = raw;
    });
    return out;
  }

  window.CaseVaultFormat = {
    VerifyError: VerifyError, InputError: InputError,
    f: {
      b64: b64, lenientB64: lenientB64, bytesToB64: bytesToB64, sha256: sha256, leafHash: leafHash, nodeHash: nodeHash,
      Tree: Tree, runProof: runProof, checkConsistency: checkConsistency, parseJSON: parseJSON, JNum: JNum,
      int64: int64, readLine: readLine, parseLeaf: parseLeaf, validTime: validTime, noteVerifier: noteVerifier,
      cosignatureVerifier: cosignatureVerifier, witnessKey: witnessKey, lookup: lookup,
      checkNoteEncoding: checkNoteEncoding, openNote: openNote, parseCheckpointText: parseCheckpointText,
      origin: origin, checkFilter: checkFilter, filterDetail: filterDetail, equal: equal, u64: u64, hex8: hex8,
      FORMAT1: FORMAT1, FORMAT2: FORMAT2, MAX_LINE: MAX_LINE, MAX_SKEW: MAX_SKEW, enc: enc
    }
  };
})();
