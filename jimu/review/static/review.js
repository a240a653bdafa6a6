/* Jimu review: keyboard-only work on the review, second-entry and supervisor pages.
 *
 *   Enter            confirm this field (review page: checked and kept on the server) and go to the next one
 *   Tab / Shift+Tab  next / previous field
 *   Ctrl+Enter, F9   approve the document (every flagged field must be confirmed first)
 *   F8               skip to the next document
 *   F4               reject to the ward office (不備返戻) with a reason
 *   F2               show / hide the page view (the whole page beside the fields, the current one outlined)
 *   Alt+↑ / Alt+↓    zoom the page view in / out (mouse: wheel); Alt+Shift+arrows pan it (mouse: drag);
 *                    Alt+0 the whole page again
 *   Alt+H            put the document aside (保留) for a while; Alt+S escalate it to a supervisor (相談)
 *   Alt+Z            take back the last approval (while its record still waits to be sent)
 *   Alt+1 / Alt+2    supervisor page: take the first / second operator's entry into this field
 *   Alt+A            open / close the automatically accepted fields
 *   F1               the list of every key, over the page (F1 or Esc closes it)
 *   Esc              close the dialog
 *
 * Plain JavaScript, no libraries; everything comes from this server.
 */
(function () {
  "use strict";

  var root = document.getElementById("review");

  // what the page costs the operator, measured here (scripts/bench_review.py reads it): from the
  // approve key to the next page ready for typing, and the time the page's own key handling takes
  function nowMs() { return performance.timeOrigin + performance.now(); }
  function timingLog(entry) {
    try {
      var log = JSON.parse(window.sessionStorage.getItem("jimu.t.log") || "[]");
      log.push(entry);
      window.sessionStorage.setItem("jimu.t.log", JSON.stringify(log.slice(-500)));
    } catch (e) { /* storage off: nothing measured */ }
  }
  function pageReady() {
    var at = null;
    try {
      at = window.sessionStorage.getItem("jimu.t.approve");
      window.sessionStorage.removeItem("jimu.t.approve");
    } catch (e) { /* storage off */ }
    if (at) timingLog({ kind: "approve_to_ready", from: JSON.parse(at).doc, ms: nowMs() - JSON.parse(at).t });
  }
  var keyMs = 0;
  if (!root) {
    // other pages: put the caret where the page says (autofocus alone is applied lazily, so keys
    // typed right after the page loaded could go nowhere)
    var first = document.querySelector("[autofocus]");
    if (first && document.activeElement !== first) first.focus();
    pageReady();
    document.addEventListener("keydown", function (ev) { // Alt+Z: take back the last approval
      var undo = document.getElementById("reopen-form");
      if (undo && ev.altKey && ev.code === "KeyZ") {
        ev.preventDefault();
        undo.submit();
      }
    });
    return;
  }
  var mode = root.dataset.mode; // "review" | "entry"
  var csrf = root.dataset.csrf;
  var saveUrl = root.dataset.save || "";
  var lockUrl = root.dataset.lock || "";
  var form = document.getElementById("approve-form");
  var statusLine = document.getElementById("status");
  var pageView = document.getElementById("page-view");
  var dialog = document.getElementById("reject-dialog");
  var keyDialogs = Array.prototype.slice.call(document.querySelectorAll("dialog.key-dialog"));
  var accepted = document.getElementById("accepted");
  var pending = new Map(); // input → Promise of the save
  var submitting = false;

  function say(text, kind) {
    if (!statusLine) return;
    statusLine.textContent = text || "";
    statusLine.className = "status" + (kind ? " " + kind : "");
  }

  function visible(el) {
    return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  }

  function allInputs() {
    return Array.prototype.filter.call(document.querySelectorAll("#approve-form input.fv"), visible);
  }

  function flaggedInputs() {
    return Array.prototype.slice.call(document.querySelectorAll("#approve-form input.fv.flagged"));
  }

  function errorBox(input) {
    var entry = input.closest(".entry");
    return entry ? entry.querySelector(".err") : null;
  }

  function setState(input, state, message) {
    input.classList.remove("ok", "error", "pending");
    if (state) input.classList.add(state);
    var row = input.closest(".field");
    if (row) row.classList.toggle("has-error", state === "error");
    var box = errorBox(input);
    if (box) box.textContent = state === "error" ? message || "" : "";
  }

  function labelOf(input) {
    var label = input.id ? document.querySelector('label[for="' + input.id + '"]') : null;
    return label ? label.textContent : "";
  }

  function focusInput(input) {
    if (!input) return;
    input.focus();
    if (typeof input.select === "function") input.select();
    var row = input.closest(".field") || input;
    if (row.scrollIntoView) row.scrollIntoView({ block: "nearest" });
    outline(input);
  }

  // ---- the page view: the whole page beside the fields, the current field outlined, zoom and pan
  var pv = { scale: 1, x: 0, y: 0, box: null, loaded: false };
  var port = document.getElementById("pv-port");
  var stage = document.getElementById("pv-stage");
  var pageImg = document.getElementById("page-img");
  var pvBox = document.getElementById("pv-box");
  var pvZoom = document.getElementById("pv-zoom");

  function pvApply() {
    if (!stage || !port) return;
    var w = port.clientWidth, h = port.clientHeight, sh = stage.offsetHeight * pv.scale;
    pv.x = Math.min(0, Math.max(w - w * pv.scale, pv.x));
    pv.y = sh <= h ? 0 : Math.min(0, Math.max(h - sh, pv.y));
    stage.style.transform = "translate(" + pv.x + "px," + pv.y + "px) scale(" + pv.scale + ")";
    if (pvZoom) pvZoom.textContent = Math.round(pv.scale * 100) + "%";
  }

  function pvZoomAt(factor, cx, cy) {
    if (!port) return;
    var s = Math.min(8, Math.max(1, pv.scale * factor));
    if (cx === undefined) { cx = port.clientWidth / 2; cy = port.clientHeight / 2; }
    pv.x = cx - (cx - pv.x) * (s / pv.scale);
    pv.y = cy - (cy - pv.y) * (s / pv.scale);
    pv.scale = s;
    pvApply();
  }

  function pvCenterOnBox() {
    if (!port || !stage || !pv.box) return;
    var w = stage.offsetWidth, h = stage.offsetHeight;
    var cx = (pv.box[0] + pv.box[2] / 2) * w * pv.scale, cy = (pv.box[1] + pv.box[3] / 2) * h * pv.scale;
    pv.x = port.clientWidth / 2 - cx;
    pv.y = port.clientHeight / 2 - cy;
    pvApply();
  }

  function outline(input) {
    var b = (input && input.dataset && input.dataset.box || "").split(",").map(Number);
    if (!pvBox || b.length !== 4 || b.some(isNaN)) return;
    pv.box = b;
    pvBox.style.left = b[0] * 100 + "%";
    pvBox.style.top = b[1] * 100 + "%";
    pvBox.style.width = b[2] * 100 + "%";
    pvBox.style.height = b[3] * 100 + "%";
    pvBox.hidden = false;
    if (pageView && !pageView.hidden) pvCenterOnBox();
  }

  function pvLoad() {
    if (!pageImg || pageImg.getAttribute("src")) return;
    pageImg.addEventListener("error", function () {
      if (port) port.hidden = true;
      var msg = pageView.querySelector(".msg");
      if (msg) msg.hidden = false;
    });
    pageImg.addEventListener("load", function () { pvCenterOnBox(); });
    pageImg.setAttribute("src", pageImg.dataset.src);
  }

  function togglePageView(force) {
    if (!pageView) return;
    var show = typeof force === "boolean" ? force : pageView.hidden;
    pageView.hidden = !show;
    document.body.classList.toggle("with-page-view", show);
    try { window.localStorage.setItem("jimu.pageView", show ? "1" : "0"); } catch (e) { /* private mode */ }
    if (show) {
      pvLoad();
      pvCenterOnBox();
    }
  }

  if (port) {
    port.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = port.getBoundingClientRect();
      pvZoomAt(ev.deltaY < 0 ? 1.25 : 0.8, ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
    var drag = null;
    port.addEventListener("mousedown", function (ev) {
      drag = { x: ev.clientX - pv.x, y: ev.clientY - pv.y };
      ev.preventDefault(); // keeps the caret in the field
    });
    window.addEventListener("mousemove", function (ev) {
      if (!drag) return;
      pv.x = ev.clientX - drag.x;
      pv.y = ev.clientY - drag.y;
      pvApply();
    });
    window.addEventListener("mouseup", function () { drag = null; });
  }

  function nextUnconfirmed(after) {
    var list = flaggedInputs();
    var start = after ? list.indexOf(after) + 1 : 0;
    for (var i = 0; i < list.length; i++) {
      var el = list[(start + i) % list.length];
      // a field whose save is still on its way counts as confirmed here (a slow answer must not pull
      // the caret back); if the server refuses it, the error takes the caret there
      if (el !== after && !el.classList.contains("ok") && !el.classList.contains("pending")) return el;
    }
    return null;
  }

  function save(input) {
    var sent = input.value;
    setState(input, "pending");
    var p = fetch(saveUrl + input.dataset.pk, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ value: sent })
    })
      .then(function (r) {
        return r.json().then(function (j) { return { status: r.status, body: j }; });
      })
      .then(function (res) {
        if (input.value !== sent) return; // typed again meanwhile: that text is not confirmed
        if (res.body && res.body.ok) {
          if (document.activeElement !== input && typeof res.body.text === "string") input.value = res.body.text;
          setState(input, "ok");
        } else {
          var msg = (res.body && res.body.error) || "保存できませんでした";
          setState(input, "error", msg);
          say(labelOf(input) + ": " + msg, "error");
        }
      })
      .catch(function () {
        setState(input, "error", "サーバーに届きませんでした。もう一度 Enter を押してください");
      })
      .then(function () {
        pending.delete(input);
      });
    pending.set(input, p);
    return p;
  }

  function confirmField(input) {
    if (mode === "review") {
      save(input);
    } else {
      setState(input, "ok");
    }
    var next = input.classList.contains("flagged") ? nextUnconfirmed(input) : null;
    if (next) {
      focusInput(next);
      say("");
    } else if (input.classList.contains("flagged")) {
      Promise.all(Array.from(pending.values())).then(function () {
        var bad = allInputs().filter(function (el) { return el.classList.contains("error"); });
        if (bad.length) {
          if (document.activeElement !== bad[0]) focusInput(bad[0]);
          return; // the error is already in the status line and next to the field
        }
        if (nextUnconfirmed(null)) return;
        say(mode === "review" ? "すべての要確認項目を確認しました。Ctrl+Enter（F9）で承認します"
          : "すべて入力しました。Ctrl+Enter（F9）で確定します", "ok");
      });
    }
  }

  function move(input, step) {
    var list = allInputs();
    if (!list.length) return;
    var i = list.indexOf(input);
    focusInput(list[(i + step + list.length) % list.length]);
  }

  var approveKeyAt = 0;

  function approve() {
    if (submitting || !form) return;
    Promise.all(Array.from(pending.values())).then(function () {
      var open = flaggedInputs().filter(function (el) { return !el.classList.contains("ok"); });
      var bad = allInputs().filter(function (el) { return el.classList.contains("error"); });
      if (bad.length) {
        say("誤りのある項目があります。直してから承認してください", "error");
        focusInput(bad[0]);
        return;
      }
      if (open.length) {
        say("まだ確認していない項目があります（Enter で確認）", "error");
        focusInput(open[0]);
        return;
      }
      submitting = true;
      say("送信しています…");
      timingLog({ kind: "keys", doc: root.dataset.doc, ms: keyMs });
      try {
        window.sessionStorage.setItem("jimu.t.approve", JSON.stringify({ doc: root.dataset.doc, t: approveKeyAt || nowMs() }));
      } catch (e) { /* storage off */ }
      var confirmed = document.getElementById("confirmed");  // the server refuses an approve without these
      if (confirmed) confirmed.value = flaggedInputs().map(function (el) { return el.dataset.pk; }).join(",");
      form.submit();
    });
  }

  function submitSkip() {
    var f = document.getElementById("skip-form");
    if (f && !submitting) {
      submitting = true;
      f.submit();
    }
  }

  function openReject() {
    if (!dialog || dialog.open) return;
    dialog.showModal();
    var sel = dialog.querySelector("select");
    if (sel) sel.focus();
  }

  function openKeyDialog(id) {
    var d = document.getElementById(id);
    if (!d || d.open) return;
    d.showModal();
    var first = d.querySelector("select, input:not([type=hidden])");
    if (first) first.focus();
  }

  function takeEntry(input, which) {
    if (!input || !input.dataset || input.dataset[which] === undefined) return;
    input.value = input.dataset[which];
    setState(input, null);
    confirmField(input);
  }

  function loadLazy(container) {
    Array.prototype.forEach.call(container.querySelectorAll("img[data-src]"), function (img) {
      if (!img.getAttribute("src")) img.setAttribute("src", img.dataset.src);
    });
  }

  if (accepted) {
    accepted.addEventListener("toggle", function () {
      if (accepted.open) loadLazy(accepted);
    });
  }

  if (dialog) {
    var cancel = dialog.querySelector(".cancel");
    if (cancel) cancel.addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { focusInput(nextUnconfirmed(null) || allInputs()[0]); });
    dialog.addEventListener("keydown", function (ev) {
      // Enter sends the rejection from the reason list too (a <select> does not submit a form by itself)
      if (ev.key === "Enter" && !ev.isComposing && ev.target.tagName !== "BUTTON") {
        ev.preventDefault();
        var f = dialog.querySelector("form");
        if (f && !submitting) {
          submitting = true;
          f.submit();
        }
      }
    });
  }
  var rejectBtn = document.getElementById("reject-open");
  if (rejectBtn) rejectBtn.addEventListener("click", openReject);
  var pageBtn = document.getElementById("page-open");
  if (pageBtn) pageBtn.addEventListener("click", function () { togglePageView(); });
  [["postpone-open", "postpone-dialog"], ["escalate-open", "escalate-dialog"]].forEach(function (pair) {
    var b = document.getElementById(pair[0]);
    if (b) b.addEventListener("click", function () { openKeyDialog(pair[1]); });
  });
  keyDialogs.forEach(function (d) {
    var c = d.querySelector(".cancel");
    if (c) c.addEventListener("click", function () { d.close(); });
    d.addEventListener("close", function () { focusInput(nextUnconfirmed(null) || allInputs()[0]); });
    d.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.isComposing && ev.target.tagName !== "BUTTON") {
        ev.preventDefault();
        var f = d.querySelector("form");
        if (f && !submitting && f.reportValidity()) {
          submitting = true;
          f.submit();
        }
      }
    });
  });
  if (form) {
    form.addEventListener("submit", function (ev) {
      if (!submitting) {
        ev.preventDefault();
        approve();
      }
    });
  }

  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (t && t.classList && t.classList.contains("fv")) {
      if (t.classList.contains("ok") || t.classList.contains("error")) setState(t, null);
    }
  });

  var help = document.getElementById("help-dialog");
  var helpReturn = null;
  if (help) help.addEventListener("close", function () { if (helpReturn) focusInput(helpReturn); });

  document.addEventListener("keydown", function (ev) {
    if (ev.isComposing || ev.keyCode === 229) return; // IME conversion in progress: Enter belongs to the IME
    if (ev.key === "F1" && help) { // every key of this page, over it; F1 or Esc closes it
      ev.preventDefault();
      if (help.open) {
        help.close();
      } else {
        helpReturn = document.activeElement && document.activeElement.classList &&
          document.activeElement.classList.contains("fv") ? document.activeElement : null;
        help.showModal();
      }
      return;
    }
    if (help && help.open) return; // Esc closes the dialog by itself
    if (dialog && dialog.open) return; // the dialog handles its own keys (Enter submits, Esc closes)
    if (keyDialogs.some(function (d) { return d.open; })) return;
    var key = ev.key;
    var t = ev.target;
    var inField = t && t.classList && t.classList.contains("fv");
    if (key === "F2") {
      ev.preventDefault();
      togglePageView();
      return;
    }
    if (ev.altKey && pageView && !pageView.hidden && port) {
      var step = 60;
      var pans = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (ev.shiftKey && pans[key]) {
        ev.preventDefault();
        pv.x += pans[key][0];
        pv.y += pans[key][1];
        pvApply();
        return;
      }
      if (key === "ArrowUp" || key === "ArrowDown") {
        ev.preventDefault();
        pvZoomAt(key === "ArrowUp" ? 1.25 : 0.8);
        if (pv.box) pvCenterOnBox();
        return;
      }
      if (key === "0") {
        ev.preventDefault();
        pv.scale = 1; pv.x = 0; pv.y = 0;
        pvApply();
        return;
      }
    }
    if (ev.altKey && (ev.code === "KeyH" || ev.code === "KeyS") && document.getElementById("postpone-dialog")) {
      ev.preventDefault();
      openKeyDialog(ev.code === "KeyH" ? "postpone-dialog" : "escalate-dialog");
      return;
    }
    if (ev.altKey && ev.code === "KeyZ") {
      var undo = document.getElementById("reopen-form");
      if (undo && !submitting) {
        ev.preventDefault();
        submitting = true;
        undo.submit();
      }
      return;
    }
    if (ev.altKey && inField && (ev.code === "Digit1" || ev.code === "Digit2") && t.dataset.first !== undefined) {
      ev.preventDefault();
      takeEntry(t, ev.code === "Digit1" ? "first" : "second");
      return;
    }
    if (key === "F9" || (key === "Enter" && (ev.ctrlKey || ev.metaKey))) {
      ev.preventDefault();
      approveKeyAt = performance.timeOrigin + ev.timeStamp;
      approve();
      return;
    }
    if (key === "F8") {
      ev.preventDefault();
      submitSkip();
      return;
    }
    if (key === "F4") {
      ev.preventDefault();
      openReject();
      return;
    }
    if ((key === "a" || key === "A") && ev.altKey && accepted) {
      ev.preventDefault();
      accepted.open = !accepted.open;
      if (accepted.open) {
        var first = accepted.querySelector("input.fv");
        if (first) focusInput(first);
      }
      return;
    }
    if (inField && key === "Enter" && !ev.shiftKey && !ev.altKey) {
      ev.preventDefault();
      confirmField(t);
      keyMs += performance.now() - ev.timeStamp; // from the key press to the caret in the next field
      return;
    }
    if (inField && key === "Tab") {
      ev.preventDefault();
      move(t, ev.shiftKey ? -1 : 1);
    }
  });

  // keep the lock while the page is open (it expires on its own when the operator walks away)
  if (lockUrl) {
    var lastActivity = Date.now();
    document.addEventListener("keydown", function () { lastActivity = Date.now(); }, true);
    window.setInterval(function () {
      if (Date.now() - lastActivity < 5 * 60 * 1000) {
        fetch(lockUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
      }
    }, 2 * 60 * 1000);
  }

  // the page view is open from the start on a wide screen (or as the operator last left it)
  if (pageView && pageView.dataset.available === "1") {
    var pref = null;
    try { pref = window.localStorage.getItem("jimu.pageView"); } catch (e) { /* private mode */ }
    togglePageView(pref === null ? window.innerWidth >= 1280 : pref === "1");
  }

  // a page that came back with errors starts at the first of them
  focusInput(allInputs().filter(function (el) { return el.classList.contains("error"); })[0] ||
    nextUnconfirmed(null) || allInputs()[0]);
  pageReady();
})();

