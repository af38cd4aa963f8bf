/* Afterimage script embed: <script src="https://SITE/widget.js" data-item="slug" async></script>
   (or data-list / data-tag; options data-limit, data-kind=films|books|both, data-theme=light|dark|auto,
   data-accent=#rgb|#rrggbb, data-compact). Renders inside a shadow root from the JSON API; API text is only
   ever set with textContent. */
(function () {
  "use strict";
  var CSS = "__WIDGET_CSS__", KINDS = { both: "", films: "film", books: "book" }, THEMES = ["auto", "light", "dark"];
  var HEX = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i, DONE = "data-afterimage-mounted", sheet;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  // Links only ever lead to the site the script came from, in a new tab.
  function link(url, base, text) {
    var a = el("a", null, text);
    try { var u = new URL(url, base); if (u.origin === base) a.href = u.href; } catch (e) {}
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }
  function img(src, alt) {
    var i = el("img");
    i.alt = alt || ""; i.width = 200; i.height = 300; i.loading = "lazy";
    if (/^https?:\/\//i.test(src)) i.src = src;
    return i;
  }
  function makers(it) {
    var role = it.kind === "film" ? "director" : "author";
    return it.creators.filter(function (c) { return c.role === role; }).slice(0, 2)
      .map(function (c) { return c.name; }).join(", ");
  }
  function line() { return [].slice.call(arguments).filter(Boolean).join(" \u00b7 "); }

  function card(rec, base) {
    var it = rec.item, li = el("li"), a = link(it.url, base), cv = el("span", "cv");
    cv.appendChild(img(it.cover_url));
    a.appendChild(cv);
    a.appendChild(el("span", "t", it.title));
    a.appendChild(el("span", "m", line(it.year, makers(it))));
    // After the title, so screen readers say what it is before why; the strongest reason, always shown.
    if (rec.reasons.length) a.appendChild(el("span", "why", rec.reasons[0]));
    li.appendChild(a);
    return li;
  }
  function section(box, heading, recs, base) {
    box.appendChild(el("h2", null, heading));
    if (!recs.length) return box.appendChild(el("p", "empty", "Nothing yet."));
    var ol = el("ol");
    recs.forEach(function (r) { ol.appendChild(card(r, base)); });
    box.appendChild(ol);
  }
  function render(box, data, o, base) {
    var s = data.item || data.list || data.tag, type = data.item ? s.kind : data.list ? "list" : "tag";
    var head = el("div", "head"), d = el("div"), t = el("span", "title"), recs = data.recommendations;
    box.textContent = "";
    if (data.item && !o.compact) head.appendChild(link(s.url, base)).appendChild(img(s.cover_url, s.title));
    d.appendChild(el("span", "eyebrow", "If you liked this " + type));
    t.appendChild(link(s.url, base, s.title || s.name));
    d.appendChild(t);
    if (!o.compact) {
      var n = data.items ? data.items.length : 0;
      d.appendChild(el("span", "sub", data.item ? line(s.year, makers(s)) : n + (n === 1 ? " item" : " items")));
    }
    head.appendChild(d);
    box.appendChild(head);
    if (o.kind !== "books") section(box, "Watch", recs.filter(function (r) { return r.item.kind === "film"; }), base);
    if (o.kind !== "films") section(box, "Read", recs.filter(function (r) { return r.item.kind === "book"; }), base);
    var f = el("p", "foot", "Recommendations from ");
    f.appendChild(link(base + "/", base, "Afterimage"));
    box.appendChild(f);
  }
  function fail(box, message) {
    box.textContent = "";
    box.appendChild(el("p", "empty", message));
  }
  // A constructed sheet is shared by every widget and is not subject to the host's inline-style policy.
  function style(root) {
    try {
      if (!sheet) { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); }
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(el("style", null, CSS));
    }
  }

  function mount(script) {
    script.setAttribute(DONE, "");
    var ds = script.dataset, base = new URL(script.src).origin, host = el("div"), q = new URLSearchParams(), path;
    var o = { kind: ds.kind || "both", theme: ds.theme || "auto", compact: ds.compact != null && !/^(0|false|no|off)$/i.test(ds.compact) };
    host.setAttribute("data-afterimage-widget", "");
    // Right after the script tag; a tag pasted into <head> renders at the end of the body instead.
    if (script.parentNode && script.closest("body")) script.parentNode.insertBefore(host, script.nextSibling);
    else if (document.body) document.body.appendChild(host);
    else document.addEventListener("DOMContentLoaded", function () { document.body.appendChild(host); });
    var root = host.attachShadow({ mode: "open" }), box = el("div", "aw");
    style(root);
    root.appendChild(box);
    if (!(o.kind in KINDS)) return fail(box, "data-kind must be films, books or both.");
    if (THEMES.indexOf(o.theme) < 0) return fail(box, "data-theme must be light, dark or auto.");
    if (ds.accent && !HEX.test(ds.accent)) return fail(box, "data-accent must be a hex colour such as #b3472f.");
    box.className = "aw " + o.theme + (o.compact ? " compact" : "");
    if (ds.accent) box.style.setProperty("--accent", (ds.accent[0] === "#" ? "" : "#") + ds.accent);
    if (ds.item) path = "items/" + encodeURIComponent(ds.item) + "/recommendations";
    else if (ds.list) path = "lists/" + encodeURIComponent(ds.list);
    else if (ds.tag) path = "tags/" + encodeURIComponent(ds.tag);
    else return fail(box, "Add data-item, data-list or data-tag to the Afterimage script tag.");
    if (KINDS[o.kind]) q.set("kind", KINDS[o.kind]);
    if (ds.limit) q.set("limit", ds.limit);
    box.appendChild(el("p", "empty", "Loading recommendations\u2026"));
    fetch(base + "/api/v1/" + path + "?" + q, { credentials: "omit" })
      .then(function (r) {
        return r.json().then(function (d) { if (!r.ok) throw new Error(d.message || r.statusText); return d; });
      })
      .then(function (d) { render(box, d, o, base); })
      .catch(function (e) { fail(box, "Recommendations are unavailable: " + e.message); });
  }

  // Every copy of this script on the page runs this; each mounts the tags not yet mounted.
  var me = document.currentScript, scripts = document.querySelectorAll("script[src]");
  for (var i = 0; i < scripts.length; i++) {
    var s = scripts[i];
    if (s.hasAttribute(DONE)) continue;
    if (me ? s.src === me.src : /\/widget\.js(\?|$)/.test(s.src) && (s.dataset.item || s.dataset.list || s.dataset.tag)) mount(s);
  }
})();
