/* Sunlight auction room: live state over a websocket.
 * The server is authoritative: every frame carries `seq` and `server_time`; the client keeps the
 * last seq it applied, asks for a resync on a gap or after a reconnect, and shows the server's end
 * time counted down against the server's clock. */
(function () {
  "use strict";
  // Times are shown in Beijing time whatever the browser's own time zone (the page says so in its footer).
  const BEIJING = { timeZone: "Asia/Shanghai", hour12: false };
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

  var PHASES = {
    scheduled: "待开始 Scheduled", listing: "挂牌中 Listing", live: "竞价中 Live",
    paused: "已暂停 Paused", closed: "已结束 Closed"
  };

  function say(text, kind, code) {
    var el = $("auction-message");
    el.textContent = text;
    el.className = "auction-message " + (kind || "");
    el.dataset.kind = kind || "";
    el.dataset.code = code || "";  // the engine's stable reason code, for scripts and tests
  }

  function renderState() {
    if (!state) return;
    $("auction-phase").textContent = PHASES[state.phase] || state.phase;
    root.dataset.phase = state.phase;
    $("auction-price").textContent = state.leader ? yuan(fen(state.price)) : yuan(fen(state.starting_price)) + " (起拍 start)";
    $("auction-price").dataset.fen = fen(state.price);
    $("auction-leader").textContent = state.leader ? state.leader + (state.leader === myNumber ? " (我 me)" : "") : "—";
    $("auction-increment").textContent = yuan(fen(state.increment));
    $("auction-min").textContent = yuan(fen(state.minimum));
    $("auction-seq").textContent = lastSeq;
    root.dataset.seq = lastSeq;
    if (state.phase === "closed") {
      var r = state.outcome === "deal"
        ? "成交 Deal: " + state.leader + " @ " + yuan(fen(state.price))
        : "流拍 Failed (" + state.outcome_reason + ")";
      if (state.reserve !== undefined) r += " · 保留价 reserve " + yuan(fen(state.reserve));
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
      var tr = document.createElement("tr");
      tr.dataset.seq = e.seq;
      var when = new Date(e.data.at || e.at);
      var what;
      if (e.kind === "bid" || e.kind === "posted") what = (e.kind === "posted" ? "报价 posted " : "出价 bid ") + e.data.bidder + " " + yuan(fen(e.data.amount));
      else if (e.kind === "paused") what = "暂停 paused: " + e.data.reason;
      else if (e.kind === "resumed") what = "恢复 resumed";
      else if (e.kind === "opened") what = "开始 opened";
      else if (e.kind === "live") what = "转入现场竞价 live bidding";
      else if (e.kind === "continue") what = "要求竞价 wants to go on: " + e.data.bidder;
      else if (e.kind === "closed") what = e.data.outcome === "deal" ? "成交 deal " + e.data.winner + " " + yuan(fen(e.data.price)) : "流拍 failed";
      else what = e.kind;
      tr.innerHTML = "<td></td><td></td><td></td>";
      tr.children[0].textContent = e.seq;
      tr.children[1].textContent = when.toLocaleTimeString("zh-CN", BEIJING);
      tr.children[2].textContent = what;
      tr.className = "ev-" + e.kind;
      body.appendChild(tr);
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
    if (state.phase === "paused") { el.textContent = "已暂停 paused"; return; }
    var left = Math.max(0, target - serverNow());
    // the server closes the auction; at zero, ask it rather than wait for a notification
    if (left === 0 && (state.phase === "live" || state.phase === "listing" || state.phase === "scheduled") &&
        askedAt !== state.end_at) { askedAt = state.end_at; setTimeout(resync, 300); }
    var s = Math.floor(left / 1000);
    var d = Math.floor(s / 86400); s %= 86400;
    var hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
    el.textContent = (d ? d + "d " : "") + [hh, mm, ss].map(function (n) { return n.toString().padStart(2, "0"); }).join(":");
    el.dataset.leftMs = left;
    $("auction-end").textContent = new Date(state.end_at).toLocaleString("zh-CN", BEIJING);
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
      if (msg.accepted) say("出价成功 Bid accepted: " + yuan(fen(msg.amount)), "ok");
      else say("出价未被接受 Refused (" + msg.code + "): " + msg.message, "refused", msg.code);
    } else if (msg.type === "error") {
      say("错误 Error (" + msg.code + "): " + msg.message, "refused");
    }
  }

  function flash() {
    var p = $("auction-price");
    p.classList.remove("flash"); void p.offsetWidth; p.classList.add("flash");
  }

  function send(obj) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(obj)); return true; }
    say("连接中断，正在重连 Reconnecting…", "refused");
    return false;
  }
  function resync() { send({ type: "resync", last_seq: lastSeq }); }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    // the server answers a new connection with a snapshot, or with what was missed after last_seq
    ws = new WebSocket(proto + location.host + wsPath + (lastSeq ? "?last_seq=" + lastSeq : ""));
    ws.onopen = function () {
      retry = 0;
      $("auction-conn").textContent = "已连接 connected";
      root.dataset.connected = "1";
    };
    ws.onmessage = function (e) {
      try { onFrame(JSON.parse(e.data)); } catch (err) { console.error(err); }
    };
    ws.onclose = function () {
      root.dataset.connected = "0";
      $("auction-conn").textContent = "已断开，重连中 reconnecting";
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * Math.pow(2, retry));
    };
  }

  function newRef() {
    refCounter += 1;
    return "w" + Date.now().toString(36) + "-" + refCounter + "-" + Math.random().toString(36).slice(2, 8);
  }

  function bid(amountText) {
    say("提交中 Sending…", "");
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
