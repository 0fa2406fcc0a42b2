/* Sunlight — the public "opening, live" page (envelopes/follow.html): polls the lot's opening state. */
(function () {
  "use strict";
  const box = document.getElementById("follow");
  if (!box) return;
  function yuan(fen) {  // as the `yuan` template filter: ¥1,234.56
    if (fen === null || fen === undefined) return "—";
    const abs = Math.abs(fen), whole = Math.floor(abs / 100).toLocaleString("en-US");
    return (fen < 0 ? "-" : "") + "¥" + whole + "." + String(abs % 100).padStart(2, "0");
  }
  function fen(text) {  // the API's amounts are decimal strings ("1234.56")
    const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(text));
    return m ? parseInt(m[1], 10) * 100 + parseInt((m[2] || "").padEnd(2, "0") || "0", 10) : null;
  }
  async function poll() {
    try {
      const s = await (await fetch(box.dataset.url, { credentials: "same-origin" })).json();
      document.getElementById("f-status").textContent = s.status;
      document.getElementById("f-presented").textContent = s.presented || 0;
      if (s.merkle_root) document.getElementById("f-seal").textContent =
        s.envelope_count + " envelope(s) at the deadline; Merkle root " + s.merkle_root;
      if (s.bids) {
        const t = document.getElementById("f-bids");
        t.innerHTML = "<tr><th>bidder</th><th>price</th><th>outcome</th></tr>";
        for (const b of s.bids) {
          const tr = t.insertRow();
          [b.bidder, yuan(b.price === null ? null : fen(b.price)), b.outcome + (b.failure_reason ? " — " + b.failure_reason : "")]
            .forEach((v) => { tr.insertCell().textContent = v; });
        }
      }
      if (!s.opened) setTimeout(poll, 2000);
    } catch (e) { setTimeout(poll, 5000); }
  }
  poll();
})();
