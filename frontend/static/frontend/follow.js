/* Sunlight — the public "opening, live" page (envelopes/follow.html): polls the lot's opening state.
 * Texts through the JavaScript catalogue, codes by their labels (the page's status-labels). */
(function () {
  "use strict";
  const box = document.getElementById("follow");
  if (!box) return;
  const gettext = typeof window.gettext === "function" ? window.gettext : (text) => text;
  const labels = JSON.parse((document.getElementById("status-labels") || {}).textContent || "{}");
  const label = (family, code) => (labels[family] || {})[code] || code;
  function yuan(fen) {  // as the `yuan` template filter: ¥1,234.56
    if (fen === null || fen === undefined) return "—";
    const abs = Math.abs(fen), whole = Math.floor(abs / 100).toLocaleString("en-US");
    return (fen < 0 ? "-" : "") + "¥" + whole + "." + String(abs % 100).padStart(2, "0");
  }
  function fen(text) {  // the API's amounts are decimal strings ("1234.56")
    const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(text));
    return m ? parseInt(m[1], 10) * 100 + parseInt((m[2] || "").padEnd(2, "0") || "0", 10) : null;
  }
  function data(cell, text) {  // stored data (a bidder's name, a reason), shown as entered
    const span = document.createElement("span");
    span.setAttribute("data-user-content", "");
    span.textContent = text;
    cell.appendChild(span);
  }
  async function poll() {
    try {
      const s = await (await fetch(box.dataset.url, { credentials: "same-origin" })).json();
      document.getElementById("f-status").textContent = label("lot", s.status);
      document.getElementById("f-presented").textContent = s.presented || 0;
      if (s.merkle_root) {
        const seal = document.getElementById("f-seal");
        const n = s.envelope_count;
        seal.textContent = (typeof window.ngettext === "function"
          ? window.interpolate(window.ngettext("%s envelope at the deadline; Merkle root", "%s envelopes at the deadline; Merkle root", n), [n])
          : n + " envelope(s) at the deadline; Merkle root") + " ";
        const root = document.createElement("code");
        root.className = "hash";
        root.textContent = s.merkle_root;
        seal.appendChild(root);
      }
      if (s.bids) {
        const t = document.getElementById("f-bids");
        t.innerHTML = "";
        const head = t.createTHead().insertRow();
        [gettext("Bidder"), gettext("Price"), gettext("Outcome")].forEach((v) => {
          const th = document.createElement("th"); th.textContent = v; head.appendChild(th);
        });
        const body = t.createTBody();
        for (const b of s.bids) {
          const row = body.insertRow();
          data(row.insertCell(), b.bidder);
          row.insertCell().textContent = yuan(b.price === null ? null : fen(b.price));
          const outcome = row.insertCell();
          outcome.textContent = label("opened", b.outcome);
          if (b.failure_reason) { outcome.appendChild(document.createTextNode(" — ")); data(outcome, b.failure_reason); }
        }
      }
      if (!s.opened) setTimeout(poll, 2000);
    } catch (e) { setTimeout(poll, 5000); }
  }
  poll();
})();
