/* Jimu review: keyboard-only work on the review, second-entry and supervisor pages.
 *
 *   Enter            confirm this field (review page: checked and kept on the server) and go to the next one
 *   Tab / Shift+Tab  next / previous field
 *   Ctrl+Enter, F9   approve the document (every flagged field must be confirmed first)
 *   F8               skip to the next document
 *   F4               reject to the ward office (不備返戻) with a reason
 *   F2               show / hide the whole page image
 *   Alt+A            open / close the automatically accepted fields
 *   F1               the list of every key, over the page (F1 or Esc closes it)
 *   Esc              close the page image or the dialog
 *
 * Plain JavaScript, no libraries; everything comes from this server.
 */
(function () {
  "use strict";

  var root = document.getElementById("review");
  if (!root) {
    // other pages: put the caret where the page says (autofocus alone is applied lazily, so keys
    // typed right after the page loaded could go nowhere)
    var first = document.querySelector("[autofocus]");
    if (first && document.activeElement !== first) first.focus();
    return;
  }
  var mode = root.dataset.mode; // "review" | "entry"
  var csrf = root.dataset.csrf;
  var saveUrl = root.dataset.save || "";
  var lockUrl = root.dataset.lock || "";
  var form = document.getElementById("approve-form");
  var statusLine = document.getElementById("status");
  var overlay = document.getElementById("page-overlay");
  var dialog = document.getElementById("reject-dialog");
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
  }

  function nextUnconfirmed(after) {
    var list = flaggedInputs();
    var start = after ? list.indexOf(after) + 1 : 0;
    for (var i = 0; i < list.length; i++) {
      var el = list[(start + i) % list.length];
      if (el !== after && !el.classList.contains("ok")) return el;
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

  function toggleOverlay(force) {
    if (!overlay) return;
    var show = typeof force === "boolean" ? force : overlay.hidden;
    overlay.hidden = !show;
    if (show) {
      var img = document.getElementById("page-img");
      if (img && !img.getAttribute("src")) {
        img.addEventListener("error", function () {
          img.hidden = true;
          var msg = overlay.querySelector(".msg");
          if (msg) msg.hidden = false;
        });
        img.setAttribute("src", img.dataset.src);
      }
    } else {
      var last = document.querySelector("input.fv:focus") || nextUnconfirmed(null) || allInputs()[0];
      focusInput(last);
    }
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
  if (pageBtn) pageBtn.addEventListener("click", function () { toggleOverlay(); });
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
    var key = ev.key;
    var t = ev.target;
    var inField = t && t.classList && t.classList.contains("fv");
    if (key === "F2") {
      ev.preventDefault();
      toggleOverlay();
      return;
    }
    if (overlay && !overlay.hidden) {
      if (key === "Escape") {
        ev.preventDefault();
        toggleOverlay(false);
      }
      return;
    }
    if (key === "F9" || (key === "Enter" && (ev.ctrlKey || ev.metaKey))) {
      ev.preventDefault();
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

  // a page that came back with errors starts at the first of them
  focusInput(allInputs().filter(function (el) { return el.classList.contains("error"); })[0] ||
    nextUnconfirmed(null) || allInputs()[0]);
})();

