/* Custody keys kept in the custodian's browser (issue 13, key custody).
 *
 * The X25519 private key is created here by WebCrypto as a NON-EXTRACTABLE CryptoKey and stored in
 * this browser's IndexedDB (a CryptoKey is stored as itself; its bytes can be neither read by script
 * nor sent anywhere). Only the public key goes to the platform. At the opening ceremony, after the
 * deadline, the custodian's sealed share is fetched, decrypted here (RFC 9180 HPKE base mode, the
 * same suite as the envelopes: SunlightSeal.hpkeOpenBase) and the share itself is presented.
 *
 * Needs seal.js loaded first. Page wiring through data attributes only (no inline script):
 *   <button id="custody-create-browser" data-register-url data-user>      on the custody page
 *   <button id="custody-present-browser" data-share-url data-present-url data-user>  on the ceremony page
 */
(function (global) {
  "use strict";
  const gettext = typeof global.gettext === "function" ? global.gettext : (text) => text;
  const fmt = (text, args) => (typeof global.interpolate === "function" ? global.interpolate(text, args)
    : args.reduce((out, a) => out.replace("%s", a), text));
  const S = global.SunlightSeal;
  const subtle = global.crypto && global.crypto.subtle;
  const DB = "sunlight-custody", STORE = "keys";

  function db() {
    return new Promise((resolve, reject) => {
      const req = global.indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function idb(mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const tx = d.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = () => reject(tx.error);
    });
  }
  const keyName = (user) => "custodian-" + user;

  /* Create the key pair (private half non-extractable), keep it here, return the raw public key. */
  async function createKey(user) {
    if (!subtle) throw new Error(gettext("this browser has no WebCrypto (use https or localhost)"));
    const pair = await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
    const pub = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
    await idb("readwrite", (st) => st.put({ privateKey: pair.privateKey, publicKey: pub, created: new Date().toISOString() },
      keyName(user)));
    return pub;
  }
  async function loadKey(user) {
    const rec = await idb("readonly", (st) => st.get(keyName(user)));
    if (!rec) throw new Error(gettext("no custody key in this browser: open the ceremony in the browser where you created it"));
    return rec;
  }
  function shareInfo(context, custodian) {
    return new TextEncoder().encode("sunlight/custody-share/v1\0" + context + "\0custodian=" + custodian);
  }
  /* Decrypt the sealed share (JSON from GET …/shares/mine/) with the key kept here. */
  async function openShare(user, sealed) {
    const rec = await loadKey(user);
    const pt = await S.hpkeOpenBase(rec.privateKey, rec.publicKey, shareInfo(sealed.context, sealed.custodian),
      S.b64d(sealed.sealed_share));
    return new TextDecoder().decode(pt);
  }
  async function api(url, method, body) {
    const resp = await fetch(url, { method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": S.csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.detail || fmt(gettext("refused (%s)"), [resp.status]));
    return data;
  }

  function status(text, cls) {
    const el = global.document.getElementById("custody-status");
    if (el) { el.textContent = text; el.className = cls || ""; }
  }
  function wire() {
    const create = global.document.getElementById("custody-create-browser");
    if (create) create.addEventListener("click", async () => {
      try {
        status(gettext("Creating the key in this browser…"), "pending");
        const pub = await createKey(create.dataset.user);
        await api(create.dataset.registerUrl, "POST", { public_key: S.toHex(pub) });
        status(gettext("Registered. Your private key stays in this browser and cannot be exported."), "ok");
        global.location.reload();
      } catch (e) { status(fmt(gettext("Not registered: %s"), [e.message]), "error"); }
    });
    const present = global.document.getElementById("custody-present-browser");
    if (present) present.addEventListener("click", async () => {
      try {
        status(gettext("Decrypting your share in this browser…"), "pending");
        const sealed = await api(present.dataset.shareUrl, "GET");
        const share = await openShare(present.dataset.user, sealed);
        await api(present.dataset.presentUrl, "POST", { share });
        status(gettext("Your share was presented."), "ok");
        global.location.reload();
      } catch (e) { status(fmt(gettext("Not presented: %s"), [e.message]), "error"); }
    });
  }
  if (global.document) global.document.addEventListener("DOMContentLoaded", wire);
  global.SunlightCustody = { createKey, loadKey, openShare, shareInfo };
})(typeof window !== "undefined" ? window : globalThis);
