// What a browser test names, found in the page the way a person finds it:
// a field by the text of its label (or its id, aria-label or name), a
// button or link by its text, and a CSS selector as the last resort. Every
// lookup must find exactly one element; otherwise it throws an error that
// lists what the page has, so a failing test says what to write instead.
// browsertest evaluates this expression and calls one of its functions.
(() => {
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  const FIELDS = "input:not([type=hidden]), select, textarea";
  const CLICKABLE = "a[href], button, input[type=submit], input[type=button], input[type=reset], " +
    "summary, [role=button], [role=link]";

  // The label's own text, without that of a control inside it (a
  // select's options).
  function labelText(label) {
    let s = "";
    const walk = (n) => {
      for (const c of n.childNodes) {
        if (c.nodeType === Node.TEXT_NODE) s += c.textContent;
        else if (c.nodeType === Node.ELEMENT_NODE && !c.matches("input, select, textarea, button")) walk(c);
      }
    };
    walk(label);
    return norm(s);
  }

  function fieldName(el) {
    const l = el.labels && el.labels[0];
    return JSON.stringify(l ? labelText(l) : el.id || el.getAttribute("aria-label") || el.name || el.outerHTML.slice(0, 60));
  }

  function fields(q) {
    const byId = document.getElementById(q);
    if (byId && byId.matches(FIELDS)) return [byId];
    const found = new Set();
    for (const l of document.querySelectorAll("label")) {
      if (l.control && labelText(l) === q) found.add(l.control);
    }
    for (const el of document.querySelectorAll(FIELDS)) {
      if (norm(el.getAttribute("aria-label")) === q) found.add(el);
      const by = el.getAttribute("aria-labelledby");
      if (by && norm(by.split(/\s+/).map((id) => (document.getElementById(id) || {}).textContent || "").join(" ")) === q) found.add(el);
    }
    if (found.size === 0) {
      for (const el of document.getElementsByName(q)) if (el.matches(FIELDS)) found.add(el);
    }
    return [...found];
  }

  function field(q) {
    const fs = fields(q);
    if (fs.length === 1) return fs[0];
    if (fs.length > 1) throw new Error(`${fs.length} fields are labelled or named "${q}"; use the id`);
    const all = [...document.querySelectorAll(FIELDS)].map(fieldName);
    throw new Error(`no field labelled "${q}", nor with that id or name; the page's fields: ${all.join(", ") || "none"}`);
  }

  function clickName(el) {
    return norm(el.getAttribute("aria-label")) || norm(el.innerText) || norm(el.value);
  }

  function clickable(q) {
    const hits = [...document.querySelectorAll(CLICKABLE)].filter((el) => clickName(el) === q);
    if (hits.length === 1) return hits[0];
    if (hits.length > 1) throw new Error(`${hits.length} buttons or links say "${q}"; use a CSS selector`);
    const fs = fields(q);
    if (fs.length === 1) return fs[0];
    let css = [];
    try { css = [...document.querySelectorAll(q)]; } catch (e) { /* not a selector */ }
    if (css.length === 1) return css[0];
    if (css.length > 1) throw new Error(`${css.length} elements match the selector "${q}"`);
    const all = [...document.querySelectorAll(CLICKABLE)].map((el) => JSON.stringify(clickName(el)));
    throw new Error(`no button or link says "${q}", and no field or CSS selector matches; the page's buttons and links: ${all.join(", ") || "none"}`);
  }

  const TYPED = new Set(["", "text", "search", "email", "password", "tel", "url", "number"]);

  // fill sets what a person cannot type key by key (a choice, a date) and
  // answers "set"; for what they type it empties the field and answers
  // "type", and browsertest sends the keys.
  function fill(q, value) {
    const el = field(q);
    if (el.disabled || el.readOnly) throw new Error(`field ${fieldName(el)} is disabled or read-only`);
    const changed = () => {
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    };
    if (el.tagName === "SELECT") {
      const opt = [...el.options].find((o) => o.value === value || norm(o.text) === value);
      if (!opt) throw new Error(`field ${fieldName(el)} has no choice "${value}"; it has: ${[...el.options].map((o) => JSON.stringify(norm(o.text))).join(", ")}`);
      el.value = opt.value;
      changed();
      return "set";
    }
    const type = el.tagName === "TEXTAREA" ? "" : (el.getAttribute("type") || "").toLowerCase();
    if (TYPED.has(type)) {
      el.focus();
      el.value = "";
      el.dispatchEvent(new Event("input", { bubbles: true }));
      return "type";
    }
    if (["checkbox", "radio", "file", "submit", "button", "reset", "image"].includes(type)) {
      throw new Error(`field ${fieldName(el)} is a ${type}: use Click`);
    }
    el.value = value; // date, time, datetime-local, month, week, color, range
    if (el.value !== value) throw new Error(`field ${fieldName(el)} (${type}) does not take "${value}"`);
    changed();
    return "set";
  }

  return { field, clickable, fill };
})()
