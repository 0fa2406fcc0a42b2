/* Sunlight auction room: live state over a websocket.
 * The server is authoritative: every frame carries `seq` and `server_time`; the client keeps the
 * last seq it applied, asks for a resync on a gap or after a reconnect, and shows the server's end
 * time counted down against the server's clock. */
(function () {
  "use strict";
  // Times are shown in Beijing time whatever the browser's own time zone (the page says so in its footer),
  // in the one format of every page (site.js: sunlight.formatTime, sunlight.formatSeconds for the history).
  // Every text goes through the JavaScript catalogue (djangojs); codes are shown by their labels (status-labels).
  var root = document.getElementById("auction-room");
  if (!root) return;

  var auctionId = root.dataset.auctionId;
  var canBid = root.dataset.canBid === "1";
  var wsPath = root.dataset.wsPath;
  var myNumber = root.dataset.myNumber || "";
  var lastSeq = 0;
  var state = null;
  var offsetMs = 0;          // server clock - local clock
  var ws = null;
  var retry = 0;
  var history = [];
  var refCounter = 0;

  function $(id) { return document.getElementById(id); }
  // the page's JavaScript catalogue (djangojs, loaded in the head); the text itself without one
  var gettext = typeof window.gettext === "function" ? window.gettext : function (text) { return text; };
  function fmt(text, named) {  // named placeholders: "%(amount)s"
    return typeof window.interpolate === "function" ? window.interpolate(text, named, true)
      : text.replace(/%\((\w+)\)s/g, function (_, k) { return named[k]; });
  }
  var labels = JSON.parse(($("status-labels") || {}).textContent || "{}");
  function label(family, code) { return (labels[family] || {})[code] || code; }
  function beijing(value, seconds) {
    var s = window.sunlight;
    if (s) return seconds ? s.formatSeconds(value) : s.formatTime(value);
    return new Date(value).toLocaleString("en-CA", { timeZone: "Asia/Shanghai", hour12: false });
  }

  function yuan(fen) {
    if (fen === null || fen === undefined) return "—";
    var neg = fen < 0; fen = Math.abs(fen);
    var y = Math.floor(fen / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var f = (fen % 100).toString().padStart(2, "0");
    return (neg ? "-" : "") + "¥" + y + "." + f;
  }
  // the server's amounts are decimal strings ("1234.56", docs/api-formats.md); sums are done in whole fen
  function fen(text) {
    if (text === null || text === undefined) return null;
    var m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(text));
    return m ? parseInt(m[1], 10) * 100 + parseInt((m[2] || "").padEnd(2, "0") || "0", 10) : null;
  }
  function fenToInput(fen) { return Math.floor(fen / 100) + "." + (fen % 100).toString().padStart(2, "0"); }

  function serverNow() { return Date.now() + offsetMs; }

  function noteTime(serverTime) {
    if (!serverTime) return;
    var t = Date.parse(serverTime);
    if (!isNaN(t)) offsetMs = t - Date.now();
  }

  // a refused bid: the message chosen by the engine's stable reason code, in the page's language
  function refusal(msg) {
    var minimum = fen(msg.minimum);
    if (minimum === null && state) minimum = fen(state.minimum);
    var maximum = state && state.maximum !== null && state.maximum !== undefined ? fen(state.maximum) : null;
    var increment = state ? fen(state.increment) : null;
    switch (msg.code) {
      case "too_low": return minimum === null ? gettext("The bid is too low.")
        : fmt(gettext("The bid must be at least %(minimum)s."), { minimum: yuan(minimum) });
      case "not_multiple": return fmt(gettext("The bid must raise the price by whole increments of %(increment)s (the lowest bid now is %(minimum)s)."),
        { increment: yuan(increment), minimum: yuan(minimum) });
      case "too_high": return maximum === null ? gettext("The bid raises the price by too many increments at once.")
        : fmt(gettext("The bid raises the price by too many increments at once: at most %(maximum)s now."), { maximum: yuan(maximum) });
      case "already_highest": return gettext("You already hold the highest bid.");
      case "not_started": return gettext("The auction has not started yet.");
      case "closed": return gettext("The auction is closed.");
      case "paused": return gettext("The auction is paused.");
      case "suspended": return gettext("The project is suspended: no bids until it resumes.");
      case "invalid_amount": return gettext("The amount must be a positive number of yuan.");
      case "malformed": return gettext("The amount must look like 1234.56 (yuan, at most two decimals).");
      case "too_large": return gettext("The message is too large.");
      case "no_security": return gettext("Your security for this lot is not in place.");
      case "not_a_bidder": return gettext("Only registered bidders with a bidder number may bid here; you can watch.");
      case "not_eligible": return gettext("Your bidder number may not take this step now (after a listing, only bidders who posted a price and asked to go on bid live).");
      case "wrong_phase": return gettext("Not possible in the auction's present phase.");
      case "nothing_to_do": return gettext("You already asked for live bidding.");
      case "error": return gettext("The bid could not be processed; please send it again.");
      default: return gettext("The bid was not accepted.");
    }
  }

  function say(text, kind, code) {
    var el = $("auction-message");
    el.textContent = text;
    el.className = "auction-message " + (kind || "");
    el.dataset.kind = kind || "";
    el.dataset.code = code || "";  // the engine's stable reason code, for scripts and tests
  }

  function renderState() {
    if (!state) return;
    $("auction-phase").textContent = label("auction", state.phase);
    root.dataset.phase = state.phase;
    var price = $("auction-price");
    price.textContent = state.leader ? yuan(fen(state.price)) : yuan(fen(state.starting_price));
    if (!state.leader) {  // no bid yet: the starting price, said so in small print
      var note = document.createElement("span");
      note.className = "muted auction-note";
      note.textContent = gettext("starting price");
      price.appendChild(note);
    }
    $("auction-price").dataset.fen = fen(state.price);
    $("auction-leader").textContent = state.leader ? (state.leader === myNumber ? fmt(gettext("%(number)s (me)"), { number: state.leader }) : state.leader) : "—";
    $("auction-increment").textContent = yuan(fen(state.increment));
    $("auction-min").textContent = yuan(fen(state.minimum));
    $("auction-seq").textContent = lastSeq;
    root.dataset.seq = lastSeq;
    if (state.phase === "closed") {
      var r = state.outcome === "deal"
        ? fmt(gettext("Sold to bidder %(number)s at %(price)s"), { number: state.leader, price: yuan(fen(state.price)) })
        : label("auction_outcome", state.outcome) + (state.outcome_reason ? " (" + label("auction_reason", state.outcome_reason) + ")" : "");
      if (state.reserve !== undefined && state.reserve !== null) r += " · " + fmt(gettext("reserve price %(price)s"), { price: yuan(fen(state.reserve)) });
      $("auction-result").textContent = r;
    }
    var buttons = document.querySelectorAll("[data-steps]");
    for (var i = 0; i < buttons.length; i++) {
      var steps = parseInt(buttons[i].dataset.steps, 10);
      var amount = stepAmount(steps);
      buttons[i].textContent = "+" + steps + " → " + yuan(amount);
      buttons[i].dataset.amount = amount;
      buttons[i].disabled = !canBid || !(state.phase === "live" || state.phase === "listing") ||
        (state.maximum !== null && amount > fen(state.maximum)) || (!!myNumber && state.leader === myNumber);
    }
    var custom = $("auction-amount");
    if (custom && !custom.dataset.touched) custom.value = state.minimum;
    var cont = $("auction-continue");
    if (cont) cont.hidden = state.phase !== "listing";
    tick();
  }

  function stepAmount(steps) {
    if (!state) return 0;
    if (!state.leader) return fen(state.starting_price) + (steps - 1) * fen(state.increment);
    return fen(state.price) + steps * fen(state.increment);
  }

  function renderHistory() {
    var body = $("auction-history");
    body.innerHTML = "";
    for (var i = history.length - 1; i >= 0; i--) {
      var e = history[i];
      var row = document.createElement("tr");
      row.dataset.seq = e.seq;
      var what, said = "";
      if (e.kind === "bid") what = fmt(gettext("bid by %(number)s: %(amount)s"), { number: e.data.bidder, amount: yuan(fen(e.data.amount)) });
      else if (e.kind === "posted") what = fmt(gettext("price posted by %(number)s: %(amount)s"), { number: e.data.bidder, amount: yuan(fen(e.data.amount)) });
      else if (e.kind === "paused") { what = gettext("paused") + ": "; said = e.data.reason || ""; }
      else if (e.kind === "resumed") what = gettext("resumed");
      else if (e.kind === "cancelled") {  // stopped, or its deal cancelled, by an upheld complaint
        what = label("auction_outcome", "cancelled") + " (" + label("auction_reason", e.data.code) + "): ";
        said = e.data.reason || "";
      }
      else if (e.kind === "opened") what = gettext("opened");
      else if (e.kind === "live") what = gettext("live bidding begins");
      else if (e.kind === "continue") what = fmt(gettext("%(number)s asks to go on to live bidding"), { number: e.data.bidder });
      else if (e.kind === "closed") what = e.data.outcome === "deal"
        ? fmt(gettext("sold to %(number)s at %(price)s"), { number: e.data.winner, price: yuan(fen(e.data.price)) })
        : label("auction_outcome", e.data.outcome) + (e.data.reason ? " (" + label("auction_reason", e.data.reason) + ")" : "");
      else what = e.kind;
      row.innerHTML = "<td></td><td></td><td></td>";
      row.children[0].textContent = e.seq;
      row.children[1].textContent = beijing(e.data.at || e.at, true);
      row.children[1].className = "nowrap";
      row.children[2].textContent = what;
      if (said) {  // the reason as the staff typed it (data, in whatever language)
        var span = document.createElement("span");
        span.setAttribute("data-user-content", "");
        span.textContent = said;
        row.children[2].appendChild(span);
      }
      row.className = "ev-" + e.kind;
      body.appendChild(row);
    }
    var bids = history.filter(function (e) { return e.kind === "bid" || e.kind === "posted"; });
    $("auction-bid-count").textContent = bids.length;
    if (window.SunlightAuctionChart) {  // the live price curve (auction-chart.js)
      window.SunlightAuctionChart.update(bids.map(function (e) {
        return { t: Date.parse(e.data.at || e.at), fen: fen(e.data.amount) };
      }));
    }
  }

  function tick() {
    if (!state) return;
    var el = $("auction-countdown");
    var target = state.phase === "scheduled" ? Date.parse(state.start_at) : Date.parse(state.end_at);
    if (state.phase === "closed") { el.textContent = "00:00:00"; return; }
    if (state.phase === "paused") { el.textContent = label("auction", "paused"); return; }
    var left = Math.max(0, target - serverNow());
    // the server closes the auction; at zero, ask it rather than wait for a notification
    if (left === 0 && (state.phase === "live" || state.phase === "listing" || state.phase === "scheduled") &&
        askedAt !== state.end_at) { askedAt = state.end_at; setTimeout(resync, 300); }
    var s = Math.floor(left / 1000);
    var d = Math.floor(s / 86400); s %= 86400;
    var hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
    el.textContent = (d ? fmt(gettext("%(days)s d"), { days: d }) + " " : "") + [hh, mm, ss].map(function (n) { return n.toString().padStart(2, "0"); }).join(":");
    el.dataset.leftMs = left;
    $("auction-end").textContent = beijing(state.end_at);
  }
  var askedAt = null;
  setInterval(tick, 250);
  // notifications may be lost (the database is the truth): resync now and then as well
  setInterval(function () { if (ws && ws.readyState === 1) resync(); }, 15000);

  function apply(ev) {
    if (ev.seq <= lastSeq) return true;               // already seen
    if (ev.seq !== lastSeq + 1) return false;          // gap
    history.push(ev);
    lastSeq = ev.seq;
    return true;
  }

  function onFrame(msg) {
    noteTime(msg.server_time);
    if (msg.type === "snapshot") {
      history = msg.events.slice();
      lastSeq = msg.seq;
      state = msg.state;
      if (msg.me && msg.me.number) myNumber = msg.me.number;
      $("auction-my-number").textContent = myNumber || "—";
      renderHistory(); renderState();
    } else if (msg.type === "events") {
      var ok = true;
      msg.events.forEach(function (e) { ok = apply(e) && ok; });
      if (!ok) return resync();
      state = Object.assign({}, state, msg.state); renderHistory(); renderState();
    } else if (msg.type === "event") {
      if (!apply(msg)) return resync();
      state = Object.assign({}, state, msg.state); renderHistory(); renderState();
      if (msg.kind === "bid" && msg.data.bidder !== myNumber && msg.data.bidder) flash();
    } else if (msg.type === "bid_result") {
      if (msg.accepted) say(fmt(gettext("Bid accepted: %(amount)s"), { amount: yuan(fen(msg.amount)) }), "ok");
      else say(refusal(msg), "refused", msg.code);
    } else if (msg.type === "continue_result") {
      if (msg.accepted) say(gettext("You asked to go on to live bidding."), "ok");
      else say(refusal(msg), "refused", msg.code);
    } else if (msg.type === "error") {
      say(refusal(msg), "refused", msg.code);
    }
  }

  function flash() {
    var p = $("auction-price");
    p.classList.remove("flash"); void p.offsetWidth; p.classList.add("flash");
  }

  function send(obj) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(obj)); return true; }
    say(gettext("Connection lost; reconnecting…"), "refused");
    return false;
  }
  function resync() { send({ type: "resync", last_seq: lastSeq }); }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    // the server answers a new connection with a snapshot, or with what was missed after last_seq
    ws = new WebSocket(proto + location.host + wsPath + (lastSeq ? "?last_seq=" + lastSeq : ""));
    ws.onopen = function () {
      retry = 0;
      $("auction-conn").textContent = gettext("connected");
      root.dataset.connected = "1";
    };
    ws.onmessage = function (e) {
      try { onFrame(JSON.parse(e.data)); } catch (err) { console.error(err); }
    };
    ws.onclose = function () {
      root.dataset.connected = "0";
      $("auction-conn").textContent = gettext("disconnected; reconnecting…");
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * Math.pow(2, retry));
    };
  }

  function newRef() {
    refCounter += 1;
    return "w" + Date.now().toString(36) + "-" + refCounter + "-" + Math.random().toString(36).slice(2, 8);
  }

  function bid(amountText) {
    say(gettext("Sending…"), "");
    send({ type: "bid", amount: amountText, ref: newRef() });
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-steps]");
    if (b && b.dataset.amount) { bid(fenToInput(parseInt(b.dataset.amount, 10))); }
    if (e.target.id === "auction-continue") send({ type: "continue", ref: newRef() });
  });
  var form = $("auction-custom");
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      bid($("auction-amount").value.trim());
    });
    $("auction-amount").addEventListener("input", function () { this.dataset.touched = "1"; });
  }
  connect();
})();
