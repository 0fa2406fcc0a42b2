/* Sunlight — seal a bid in the browser (WebCrypto only; the price never leaves in clear).
 *
 * Same envelope format as bidding/envelopes/envelope.py and the `sunlight-bid` tool:
 *   envelope  = "SLE1" || enc(32) || HPKE ciphertext
 *   HPKE      = RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM,
 *               single shot (sequence 0, empty aad), info = binding of project, lot, bidder
 *   plaintext = "SLP1" || u32be(len(header)) || canonical JSON header || documents
 *   signature = Ed25519 over "sunlight/envelope-signature/v1\0" || info || "\0" || SHA-256(envelope)
 * HPKE comes from the maintained @hpke/core (frontend/static/frontend/vendor/hpke.js, built by
 * frontend/vendor-src/build.sh from pinned versions), on WebCrypto; it is checked against the
 * RFC 9180 A.1 known answers and against Python byte for byte in tests/browser/test_sealing.py.
 */
(function (global) {
  "use strict";
  const subtle = global.crypto && global.crypto.subtle;
  const enc = new TextEncoder();
  const AEAD_AES_128_GCM = 0x0001, AEAD_AES_256_GCM = 0x0002;
  const X25519_PKCS8 = hex("302e020100300506032b656e04220420");
  const ED25519_PKCS8 = hex("302e020100300506032b657004220420");
  const REF_RE = /^[A-Za-z0-9._\/-]{1,64}$/;
  const PRICE_RE = /^(0|[1-9][0-9]{0,14})(\.[0-9]{1,2})?$/;
  const MAX_PRICE_FEN = Number.MAX_SAFE_INTEGER;
  // texts a person reads go through the page's JavaScript catalogue (djangojs) when there is one
  const gettext = typeof global.gettext === "function" ? global.gettext : (text) => text;
  const fmt = (text, named) => (typeof global.interpolate === "function" ? global.interpolate(text, named, true)
    : text.replace(/%\((\w+)\)s/g, (_, k) => named[k]));

  function hex(s) {
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
  }
  function toHex(b) {
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  // keys and signatures: lowercase hex of exactly `size` bytes (trading/keys.py, docs/api-formats.md)
  function keyBytes(text, size, what) {
    if (typeof text !== "string" || !new RegExp("^[0-9a-f]{" + 2 * size + "}$").test(text))
      throw new Error(fmt(gettext("%(what)s: expected %(chars)s lowercase hexadecimal characters (%(size)s bytes)"),
        { what: what, chars: 2 * size, size: size }));
    return hex(text);
  }
  function legacyKeyBytes(text, size, what) {  // a key file written before the hex rule (base64)
    if (typeof text === "string" && /^[0-9a-f]+$/.test(text)) return keyBytes(text, size, what);
    const raw = b64d(text);
    if (raw.length !== size) throw new Error(fmt(gettext("%(what)s: expected %(size)s bytes"), { what: what, size: size }));
    return raw;
  }
  function concat(...parts) {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function i2osp(v, n) {
    const out = new Uint8Array(n);
    for (let i = n - 1; i >= 0; i--) { out[i] = v & 0xff; v = Math.floor(v / 256); }
    return out;
  }
  function b64e(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }
  function b64d(text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function canonicalJSON(v) {
    if (v === null || typeof v === "boolean") return JSON.stringify(v);
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new Error("only integers in canonical JSON");
      return String(v);
    }
    if (typeof v === "string") return JSON.stringify(v);
    if (Array.isArray(v)) return "[" + v.map(canonicalJSON).join(",") + "]";
    const keys = Object.keys(v).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJSON(v[k])).join(",") + "}";
  }
  async function sha256(data) { return new Uint8Array(await subtle.digest("SHA-256", data)); }

  /* RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256 + AES-GCM, from the maintained
     @hpke/core (vendor/hpke.js, loaded before this file), which runs on the browser's WebCrypto. */
  function suite(aeadId) {
    const H = global.SunlightHPKE;
    if (!H) throw new Error(gettext("the HPKE library (vendor/hpke.js) is not loaded"));
    return new H.CipherSuite({ kem: new H.DhkemX25519HkdfSha256(), kdf: new H.HkdfSha256(),
      aead: aeadId === AEAD_AES_128_GCM ? new H.Aes128Gcm() : new H.Aes256Gcm() });
  }
  async function x25519Public(raw) {
    if (raw.length !== 32) throw new Error("an X25519 public key is 32 bytes");
    return subtle.importKey("raw", raw, { name: "X25519" }, true, []);
  }
  /* A fixed ephemeral key pair (the RFC's known-answer tests only): raw 32-byte private key. */
  async function x25519Pair(raw) {
    const privateKey = await subtle.importKey("pkcs8", concat(X25519_PKCS8, raw), { name: "X25519" }, true, ["deriveBits"]);
    const jwk = await subtle.exportKey("jwk", privateKey);
    const pub = b64d(jwk.x.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (jwk.x.length % 4)) % 4));
    return { privateKey, publicKey: await x25519Public(pub) };
  }

  /* SetupBaseS + single-shot Seal (sequence 0); returns enc || ct. skE: raw 32 bytes, or null for a fresh key. */
  async function hpkeSealBase(pkR, info, pt, aad, aeadId, skE) {
    const s = suite(aeadId || AEAD_AES_256_GCM);
    const params = { recipientPublicKey: await x25519Public(pkR), info };
    if (skE) params.ekm = await x25519Pair(skE);
    const sender = await s.createSenderContext(params);
    const ct = new Uint8Array(await sender.seal(pt, aad || new Uint8Array(0)));
    return concat(new Uint8Array(sender.enc), ct);
  }

  /* SetupBaseR + single-shot Open (sequence 0): the recipient's private key `skR` is a WebCrypto
     CryptoKey (it may be non-extractable), `pkR` its raw public key; sealed = enc || ct. */
  async function hpkeOpenBase(skR, pkR, info, sealed, aad, aeadId) {
    if (sealed.length < 32 + 16) throw new Error("sealed data too short");
    const s = suite(aeadId || AEAD_AES_256_GCM);
    const recipient = await s.createRecipientContext({
      recipientKey: { privateKey: skR, publicKey: await x25519Public(pkR) }, enc: sealed.slice(0, 32), info });
    return new Uint8Array(await recipient.open(sealed.slice(32), aad || new Uint8Array(0)));
  }

  function checkRef(v, what) {
    v = String(v);
    if (!REF_RE.test(v)) throw new Error(fmt(gettext("the %(what)s reference must be 1-64 characters of A-Z a-z 0-9 . _ / -"), { what: what }));
    return v;
  }
  function bindingInfo(project, lot, bidder) {
    return enc.encode("sunlight/envelope/v1\0project=" + checkRef(project, gettext("project")) + "\0lot=" +
      checkRef(lot, gettext("lot")) + "\0bidder=" + checkRef(bidder, gettext("bidder")));
  }
  function parsePrice(text) {
    text = String(text || "").trim();
    if (!PRICE_RE.test(text)) throw new Error(gettext("the price must look like 1234.56 (yuan, at most two decimals)"));
    const [whole, frac = ""] = text.split(".");
    const fen = Number(whole) * 100 + Number((frac + "00").slice(0, 2));
    if (!(fen > 0 && fen <= MAX_PRICE_FEN)) throw new Error(gettext("the price must be positive"));
    return fen;
  }
  async function encodePlaintext({ project, lot, bidder, priceFen, terms, documents }) {
    const docs = [];
    for (const d of documents) {
      if (!d.name || /[\/\\]/.test(d.name)) throw new Error(gettext("document names must be plain file names"));
      docs.push({ name: d.name, type: d.type || "application/octet-stream", size: d.bytes.length, sha256: toHex(await sha256(d.bytes)) });
    }
    for (const [k, v] of Object.entries(terms || {})) {
      if (!k || typeof v !== "string") throw new Error(gettext("terms must map names to text"));
    }
    const header = enc.encode(canonicalJSON({ v: 1, project: String(project), lot: String(lot), bidder: String(bidder),
      price_fen: priceFen, terms: terms || {}, documents: docs }));
    return concat(enc.encode("SLP1"), i2osp(header.length, 4), header, ...documents.map((d) => d.bytes));
  }
  function readSigningKey(keyFile) {
    let data = keyFile;
    if (typeof keyFile === "string") {
      try { data = JSON.parse(keyFile); } catch (e) { data = null; }
    }
    if (!data || data.kind !== "sunlight-bidder-key/v1") throw new Error(gettext("not a Sunlight bidder key file"));
    const pub = legacyKeyBytes(data.public, 32, gettext("public key"));
    return { seed: legacyKeyBytes(data.private, 32, gettext("private key")), public: toHex(pub) };
  }

  /* Seal and sign; returns the JSON transport object (same as `sunlight-bid seal`). */
  async function seal({ lotPublicKey, project, lot, bidder, priceFen, priceText, terms, documents, signingKey, ephemeralPrivate }) {
    if (!subtle) throw new Error(gettext("this browser has no WebCrypto (use https or localhost)"));
    const fen = priceFen !== undefined ? priceFen : parsePrice(priceText);
    if (!Number.isSafeInteger(fen) || fen <= 0) throw new Error(gettext("the price must be positive"));
    const key = readSigningKey(signingKey);
    const info = bindingInfo(project, lot, bidder);
    const pt = await encodePlaintext({ project, lot, bidder, priceFen: fen, terms: terms || {}, documents: documents || [] });
    const sealed = await hpkeSealBase(keyBytes(lotPublicKey, 32, gettext("lot key")), info, pt, new Uint8Array(0), AEAD_AES_256_GCM,
      ephemeralPrivate ? keyBytes(ephemeralPrivate, 32, gettext("ephemeral key")) : null);
    const envelope = concat(enc.encode("SLE1"), sealed);
    const digest = await sha256(envelope);
    const edKey = await subtle.importKey("pkcs8", concat(ED25519_PKCS8, key.seed), { name: "Ed25519" }, false, ["sign"]);
    const msg = concat(enc.encode("sunlight/envelope-signature/v1\0"), info, new Uint8Array([0]), digest);
    const signature = new Uint8Array(await subtle.sign({ name: "Ed25519" }, edKey, msg));
    return { format: "sunlight-envelope/v1", project: String(project), lot: String(lot), bidder: String(bidder),
      envelope: b64e(envelope), digest: toHex(digest), signature: toHex(signature), public_key: key.public };
  }

  async function generateKeyFile() {
    const pair = await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey));
    const pub = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
    return { kind: "sunlight-bidder-key/v1", private: toHex(pkcs8.slice(pkcs8.length - 32)), public: toHex(pub) };
  }

  /* Page wiring: <form id="seal-form" data-lot-key data-project data-lot data-bidder data-submit-url>.
     Fields that hold the bid have no `name`, so the browser itself could never post them. */
  async function readFile(file, asText) {
    return new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(asText ? r.result : new Uint8Array(r.result));
      r.onerror = () => reject(r.error);
      asText ? r.readAsText(file) : r.readAsArrayBuffer(file);
    });
  }
  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : (m ? decodeURIComponent(m[1]) : "");
  }
  function wire(form) {
    const status = document.getElementById("seal-status");
    const show = (text, cls) => { if (status) { status.textContent = text; status.className = cls || ""; } };
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        show(gettext("Sealing on this computer…"), "pending");
        const terms = {};
        form.querySelectorAll("[data-term]").forEach((el) => { if (el.value.trim()) terms[el.dataset.term] = el.value.trim(); });
        const docs = [];
        const docInput = form.querySelector("#seal-documents");
        for (const f of (docInput && docInput.files) || []) docs.push({ name: f.name, type: f.type, bytes: await readFile(f) });
        const keyInput = form.querySelector("#seal-key-file");
        const keyText = form.querySelector("#seal-key-text");
        const keyData = keyInput && keyInput.files.length ? await readFile(keyInput.files[0], true) : (keyText ? keyText.value : "");
        const body = await seal({ lotPublicKey: form.dataset.lotKey, project: form.dataset.project, lot: form.dataset.lot,
          bidder: form.dataset.bidder, priceText: form.querySelector("#seal-price").value, terms, documents: docs,
          signingKey: keyData });
        show(gettext("Submitting the sealed envelope…"), "pending");
        const resp = await fetch(form.dataset.submitUrl, { method: form.dataset.method || "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() }, body: JSON.stringify(body) });
        const data = await resp.json().catch(() => ({}));
        if (!resp.ok) throw new Error(data.detail || fmt(gettext("refused (HTTP %(status)s)"), { status: resp.status }));
        show(fmt(gettext("Accepted. Envelope digest %(digest)s"), { digest: body.digest }), "ok");
        const out = document.getElementById("seal-receipt");
        if (out) out.textContent = JSON.stringify(data, null, 2);
        form.dispatchEvent(new CustomEvent("sealed", { detail: data }));
        if (data.receipt_url) global.location.assign(data.receipt_url);
      } catch (e) {
        show(fmt(gettext("Not submitted: %(reason)s"), { reason: e.message }), "error");
      }
    });
  }
  if (global.document) {
    global.document.addEventListener("DOMContentLoaded", () => {
      const form = global.document.getElementById("seal-form");
      if (form) wire(form);
      const gen = global.document.getElementById("seal-generate-key");
      if (gen) gen.addEventListener("click", async () => {
        const k = await generateKeyFile();
        const a = global.document.createElement("a");
        a.href = URL.createObjectURL(new Blob([JSON.stringify(k)], { type: "application/json" }));
        a.download = "sunlight-bidder-key.json";
        a.click();
        const pub = global.document.getElementById("seal-generated-public");
        if (pub) pub.textContent = k.public;
      });
    });
  }

  global.SunlightSeal = { seal, hpkeSealBase, hpkeOpenBase, csrfToken, bindingInfo, parsePrice, canonicalJSON, encodePlaintext,
    generateKeyFile, b64e, b64d, toHex, hex, AEAD_AES_128_GCM, AEAD_AES_256_GCM };
})(typeof window !== "undefined" ? window : globalThis);
