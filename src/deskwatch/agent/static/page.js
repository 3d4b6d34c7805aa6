// The worker's page refreshes itself from its view (plain words, at the address the page
// names in data-view) every few seconds, and posts pause / resume / self-check without
// leaving the page. No inline script anywhere: the page's CSP allows only this file.
// Without it the page still works (plain forms).
"use strict";
(function () {
  const body = document.body;
  let section = body.dataset.section;
  let timer = null;

  function el(id) { return document.getElementById(id); }

  function text(id, value) {
    const node = el(id);
    if (node) node.textContent = value == null ? "" : String(value);
  }

  function show(id, on) {
    const node = el(id);
    if (node) node.hidden = !on;
  }

  function make(tag, value, className) {
    const node = document.createElement(tag);
    if (value != null) node.textContent = String(value);
    if (className) node.className = className;
    return node;
  }

  function rows(id, items, keys, offClass) {
    const tbody = el(id);
    if (!tbody) return;
    tbody.replaceChildren(...items.map(function (item) {
      const tr = document.createElement("tr");
      if (offClass && item.on === false) tr.className = offClass;
      keys.forEach(function (k) { tr.appendChild(make("td", item[k])); });
      return tr;
    }));
  }

  function challenge(c) {
    show("challenge", !!c);
    const note = el("challenge-note");
    const left = el("challenge-left");
    if (!note || !left) return;
    if (!c) { note.replaceChildren(); left.replaceChildren(); return; }
    note.replaceChildren(make("mark", c.note));
    const s = c.seconds === 1 ? "" : "s";
    left.replaceChildren(make("b", c.seconds + " second" + s + " left."));
  }

  function sent(items) {
    const box = el("sent");
    if (!box) return;
    if (!items.length) { box.replaceChildren(make("p", "Nothing sent yet.")); return; }
    const nodes = [];
    items.forEach(function (x) {
      nodes.push(make("h3", x.what), make("p", x.when, "muted"), make("pre", x.body));
    });
    box.replaceChildren(...nodes);
  }

  function typing() {
    // A password being typed is never thrown away by a reload.
    return Array.from(document.querySelectorAll("input[type=password]")).some(function (i) {
      return i.value !== "" || i === document.activeElement;
    });
  }

  function render(v) {
    show("offline", false);
    if (v.section !== section && !typing()) { window.location.reload(); return; }
    const state = el("state");
    if (state) state.className = "card state s-" + v.tone;
    text("headline", v.headline);
    text("detail", v.detail);
    challenge(v.challenge);
    const toggle = el("toggle");
    if (toggle) toggle.setAttribute("action", v.action);
    text("toggle-button", v.button);
    rows("watched", v.watched, ["what", "why", "now"], "off");
    rows("categories", v.categories, ["title", "purpose", "state"]);
    text("check-summary", v.check.summary);
    const tips = el("check-tips");
    if (tips) tips.replaceChildren(...v.check.tips.map(function (t) { return make("li", t); }));
    show("check-low", v.check.low);
    text("outbox", v.outbox);
    const warnings = el("warnings");
    if (warnings) warnings.replaceChildren(...v.warnings.map(function (w) { return make("p", w, "warn"); }));
    text("policy", v.policy);
    sent(v.sent);
    document.title = "deskwatch — " + v.headline;
    body.dataset.refresh = v.refresh_s;
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(poll, 1000 * (Number(body.dataset.refresh) || 3));
  }

  function poll() {
    fetch(body.dataset.view, { cache: "no-store", headers: { accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(render)
      .catch(function () { show("offline", true); })
      .finally(later);
  }

  document.querySelectorAll("form[data-live]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const token = form.querySelector("input[name=token]").value;
      fetch(form.getAttribute("action"), {
        method: "POST",
        headers: { [body.dataset.tokenHeader]: token },
        body: new URLSearchParams(new FormData(form)),
      })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(render)
        .catch(function () { form.submit(); });  // the plain form still works
    });
  });

  later();
}());
