/* Security keys and passkeys (WebAuthn) with the browser's own navigator.credentials: registering a key on the
 * account's security page (form[data-key-register]) and the second step of a sign-in (form[data-key-sign-in]).
 * Each is one round trip with the server (trading/security_keys.py): ask for options (a fresh single-use
 * challenge kept in this session), let the key answer, send the answer back. The server answers
 * {"redirect": url} or the error shape {"code", "detail", "fields"} whose detail (in the page's language) is
 * shown here. No inline script (the page policy forbids it); the messages come translated in data-msg-*. */
(function () {
  "use strict";

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(form, url, body) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token ? token.value : ""},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.detail || String(response.status));
          error.fromServer = true;
          error.code = data.code;
          throw error;
        }
        return data;
      });
    });
  }

  function descriptors(list) {
    return (list || []).map(function (c) { return {type: c.type, id: toBytes(c.id), transports: c.transports}; });
  }

  function creationOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return o;
  }

  function requestOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.allowCredentials = descriptors(o.allowCredentials);
    return o;
  }

  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {clientDataJSON: toB64url(r.clientDataJSON)}
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) out.response.userHandle = toB64url(r.userHandle);
    }
    return out;
  }

  function run(form, work) {
    var box = form.querySelector("#key-error");
    var buttons = form.querySelectorAll("button");
    function fail(error) {
      var text = error && error.fromServer ? error.message : form.getAttribute("data-msg-cancelled");
      box.textContent = text;
      box.hidden = false;
      if (error && error.code) box.setAttribute("data-code", error.code);
      buttons.forEach(function (b) { b.disabled = false; });
      form.removeAttribute("aria-busy");
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!window.PublicKeyCredential || !navigator.credentials) {
        box.textContent = form.getAttribute("data-msg-unsupported");
        box.hidden = false;
        return;
      }
      box.hidden = true;
      box.removeAttribute("data-code");
      buttons.forEach(function (b) { b.disabled = true; });
      form.setAttribute("aria-busy", "true");
      work().then(function (data) { window.location.assign(data.redirect); }, fail);
    });
  }

  document.querySelectorAll("form[data-key-register]").forEach(function (form) {
    run(form, function () {
      var name = form.querySelector("input[name=name]").value;
      return post(form, form.getAttribute("data-options-url"), {name: name}).then(function (data) {
        return navigator.credentials.create({publicKey: creationOptions(data.publicKey)});
      }).then(function (cred) {
        return post(form, form.getAttribute("data-register-url"), {credential: credentialJSON(cred)});
      });
    });
  });

  document.querySelectorAll("form[data-key-sign-in]").forEach(function (form) {
    run(form, function () {
      return post(form, form.getAttribute("data-options-url"), {}).then(function (data) {
        return navigator.credentials.get({publicKey: requestOptions(data.publicKey)});
      }).then(function (cred) {
        return post(form, form.getAttribute("data-verify-url"), {credential: credentialJSON(cred)});
      });
    });
  });
})();
