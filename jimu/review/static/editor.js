// The form editor: field boxes over the blank; select, edit, move, resize, add, delete, save.
// Everything is in millimetres, as in the YAML. No inline script: the page's CSP forbids it.
(function () {
  "use strict";
  const sheet = document.getElementById("ed-sheet");
  if (!sheet) return;
  const defEl = document.getElementById("ed-definition");
  const def = JSON.parse(defEl.textContent);
  def.fields = def.fields || [];
  const widthMm = parseFloat(sheet.dataset.widthMm);
  const heightMm = parseFloat(sheet.dataset.heightMm);
  const status = document.getElementById("ed-status");
  const saveBtn = document.getElementById("ed-save");
  const csrf = (document.querySelector("input[name=csrf_token]") || {}).value || "";
  let selected = -1;
  let dirty = false;
  const inputs = {
    id: document.getElementById("ed-id"), label: document.getElementById("ed-label"),
    kind: document.getElementById("ed-kind"), required: document.getElementById("ed-required"),
    validators: document.getElementById("ed-validators"), sensitivity: document.getElementById("ed-sensitivity"),
    x: document.getElementById("ed-x"), y: document.getElementById("ed-y"), w: document.getElementById("ed-w"),
    h: document.getElementById("ed-h"), labelW: document.getElementById("ed-label-w"),
    more: document.getElementById("ed-more"),
  };
  const moreError = document.getElementById("ed-more-error");
  const titleInput = document.getElementById("ed-title");
  const codeInput = document.getElementById("ed-code");
  // the keys the panel's own inputs edit; every other key of a field is in the JSON detail box
  const PANEL_KEYS = ["id", "label", "kind", "required", "validators", "sensitivity", "box", "label_w"];

  function detail(f) {
    const rest = {};
    for (const [k, v] of Object.entries(f)) if (!PANEL_KEYS.includes(k)) rest[k] = v;
    return Object.keys(rest).length ? JSON.stringify(rest, null, 1) : "";
  }
  const round1 = (v) => Math.round(v * 10) / 10;

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function place(el, f) {
    el.style.left = (100 * f.box.x / widthMm) + "%";
    el.style.top = (100 * f.box.y / heightMm) + "%";
    el.style.width = (100 * f.box.w / widthMm) + "%";
    el.style.height = (100 * f.box.h / heightMm) + "%";
  }

  function draw() {
    sheet.querySelectorAll(".fbox").forEach((el) => el.remove());
    def.fields.forEach((f, i) => {
      const el = document.createElement("div");
      el.className = "fbox" + (i === selected ? " selected" : "");
      el.tabIndex = 0;
      el.dataset.i = String(i);
      el.id = "fbox-" + f.id;
      el.setAttribute("role", "button");
      el.setAttribute("aria-label", f.id + " " + (f.label || ""));
      const tag = document.createElement("span");
      tag.className = "ftag";
      tag.textContent = f.id;
      el.appendChild(tag);
      const grip = document.createElement("span");
      grip.className = "fgrip";
      el.appendChild(grip);
      place(el, f);
      el.addEventListener("focus", () => select(i, false));
      el.addEventListener("mousedown", (ev) => startDrag(ev, i, ev.target === grip));
      sheet.appendChild(el);
    });
  }

  function select(i, focus, fromEdit) {
    selected = i;
    sheet.querySelectorAll(".fbox").forEach((el) => el.classList.toggle("selected", el.dataset.i === String(i)));
    const f = def.fields[i];
    if (!f) return;
    inputs.id.value = f.id || "";
    inputs.label.value = f.label || "";
    inputs.kind.value = f.kind || "text";
    inputs.required.checked = !!f.required;
    inputs.validators.value = (f.validators || []).join(", ");
    inputs.sensitivity.value = f.sensitivity || "normal";
    inputs.x.value = f.box.x; inputs.y.value = f.box.y; inputs.w.value = f.box.w; inputs.h.value = f.box.h;
    inputs.labelW.value = f.label_w === undefined ? 30 : f.label_w;
    if (!(fromEdit && moreError.textContent)) {  // keep what the person typed while it does not parse
      inputs.more.value = detail(f);
      moreError.textContent = "";
    }
    if (focus) {
      const el = sheet.querySelector('.fbox[data-i="' + i + '"]');
      if (el) el.focus();
    }
  }

  function changed() {
    dirty = true;
    say("未保存の変更があります", "warn");
  }

  function fromPanel() {
    const f = def.fields[selected];
    if (!f) return;
    f.id = inputs.id.value.trim();
    f.label = inputs.label.value;
    f.kind = inputs.kind.value;
    if (inputs.required.checked) f.required = true; else delete f.required;
    const vs = inputs.validators.value.split(",").map((v) => v.trim()).filter(Boolean);
    if (vs.length) f.validators = vs; else delete f.validators;
    if (inputs.sensitivity.value === "restricted") f.sensitivity = "restricted"; else delete f.sensitivity;
    for (const k of ["x", "y", "w", "h"]) {
      const v = parseFloat(inputs[k].value);
      if (!Number.isNaN(v)) f.box[k] = round1(v);
    }
    const lw = parseFloat(inputs.labelW.value);
    if (!Number.isNaN(lw)) f.label_w = round1(lw);
    let rest = {};
    try {
      rest = inputs.more.value.trim() ? JSON.parse(inputs.more.value) : {};
      if (typeof rest !== "object" || Array.isArray(rest) || rest === null) throw new Error("{ … } の形にしてください");
      moreError.textContent = "";
    } catch (e) {
      moreError.textContent = "詳細の JSON が読めません（変更していません）: " + e.message;
      rest = null;
    }
    if (rest !== null) {
      for (const k of Object.keys(f)) if (!PANEL_KEYS.includes(k)) delete f[k];
      for (const [k, v] of Object.entries(rest)) if (!PANEL_KEYS.includes(k)) f[k] = v;
    }
    changed();
    draw();
    select(selected, false, true);
  }

  Object.values(inputs).forEach((el) => el && el.addEventListener("change", fromPanel));

  function nudge(ev) {
    const t = ev.target;
    if (!t.classList || !t.classList.contains("fbox")) return;
    const i = parseInt(t.dataset.i, 10);
    const f = def.fields[i];
    const step = ev.altKey ? 0.1 : 0.5;
    const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[ev.key];
    if (d) {
      ev.preventDefault();
      if (ev.shiftKey) {
        f.box.w = round1(Math.max(1, f.box.w + d[0]));
        f.box.h = round1(Math.max(1, f.box.h + d[1]));
      } else {
        f.box.x = round1(f.box.x + d[0]);
        f.box.y = round1(f.box.y + d[1]);
      }
      place(t, f);
      select(i, false);
      changed();
    } else if (ev.key === "Delete" && saveBtn) {
      ev.preventDefault();
      remove(i);
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      inputs.id.focus();
    }
  }
  sheet.addEventListener("keydown", nudge);

  function startDrag(ev, i, resize) {
    ev.preventDefault();
    select(i, true);
    const f = def.fields[i];
    const rect = sheet.getBoundingClientRect();
    const mmPerPx = widthMm / rect.width;
    const x0 = ev.clientX, y0 = ev.clientY;
    const b0 = Object.assign({}, f.box);
    function move(e) {
      const dx = (e.clientX - x0) * mmPerPx, dy = (e.clientY - y0) * mmPerPx;
      if (resize) {
        f.box.w = round1(Math.max(1, b0.w + dx));
        f.box.h = round1(Math.max(1, b0.h + dy));
      } else {
        f.box.x = round1(b0.x + dx);
        f.box.y = round1(b0.y + dy);
      }
      const el = sheet.querySelector('.fbox[data-i="' + i + '"]');
      if (el) place(el, f);
    }
    function up() {
      document.removeEventListener("mousemove", move);
      document.removeEventListener("mouseup", up);
      if (f.box.x !== b0.x || f.box.y !== b0.y || f.box.w !== b0.w || f.box.h !== b0.h) changed();
      select(i, true);
    }
    document.addEventListener("mousemove", move);
    document.addEventListener("mouseup", up);
  }

  function remove(i) {
    def.fields.splice(i, 1);
    selected = Math.min(i, def.fields.length - 1);
    changed();
    draw();
    if (selected >= 0) select(selected, true);
  }

  function add() {
    let n = def.fields.length + 1;
    while (def.fields.some((f) => f.id === "field_" + n)) n++;
    def.fields.push({ id: "field_" + n, label: "新しい項目", kind: "text", box: { x: 20, y: 20, w: 80, h: 10 }, label_w: 25 });
    changed();
    draw();
    select(def.fields.length - 1, true);
  }

  async function save() {
    fromPanelQuiet();
    say("保存しています…");
    const r = await fetch(location.pathname.replace(/^\/forms\//, "/api/forms/").replace(/\/edit$/, ""), {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(def), credentials: "same-origin",
    });
    let body = {};
    try { body = await r.json(); } catch (e) { body = { ok: false, error: "保存できませんでした（" + r.status + "）" }; }
    if (body.ok) {
      dirty = false;
      say("保存しました（" + body.fields + "項目）", "ok");
    } else {
      say(body.error || "保存できませんでした", "error");
    }
  }

  function fromPanelQuiet() {
    if (selected >= 0 && document.activeElement && document.activeElement.closest("#ed-panel")) fromPanel();
  }

  titleInput.value = def.title || "";
  codeInput.value = def.code || "";
  titleInput.addEventListener("change", () => { def.title = titleInput.value; changed(); });
  codeInput.addEventListener("change", () => { def.code = codeInput.value; changed(); });
  if (saveBtn) saveBtn.addEventListener("click", save);
  const addBtn = document.getElementById("ed-add");
  if (addBtn) addBtn.addEventListener("click", add);
  const delBtn = document.getElementById("ed-delete");
  if (delBtn) delBtn.addEventListener("click", () => { if (selected >= 0) remove(selected); });
  document.addEventListener("keydown", (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === "s" && saveBtn) {
      ev.preventDefault();
      save();
    }
  });
  window.addEventListener("beforeunload", (ev) => { if (dirty) { ev.preventDefault(); ev.returnValue = ""; } });
  draw();
  if (def.fields.length) select(0, false);
})();
