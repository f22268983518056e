// Runs in the page: waits until the page has settled (init.js), numbers the interactive
// elements and returns the visible DOM as a compact tree for ping_inspect.webdojo.page
// (which renders the observation and checks the task's criteria on it).
//
// A node is [tag, id, attrs, items]: id is the number the agent uses to name an
// interactive element (null for the others), attrs the attributes worth showing, items
// the node's own text strings and child nodes in document order. Elements that are not
// rendered (display:none, visibility:hidden, no box) are left out with their subtree.
async ([quietMs, maxMs]) => {
  if (window.__pingSettle) await window.__pingSettle(quietMs, maxMs);
  const ID_ATTR = "data-ping-id";
  const SKIPPED = new Set([
    "SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD", "META", "LINK", "BR", "HR", "PATH",
    "DEFS", "CLIPPATH", "LINEARGRADIENT", "USE",
  ]);
  const NATIVE = new Set(["BUTTON", "SELECT", "TEXTAREA", "SUMMARY"]);
  const ROLES = new Set([
    "button", "link", "tab", "checkbox", "radio", "menuitem", "menuitemcheckbox",
    "menuitemradio", "option", "switch", "textbox", "searchbox", "combobox",
  ]);
  const SHOWN_ATTRS = ["type", "placeholder", "aria-label", "title", "alt", "href", "name"];

  for (const old of document.querySelectorAll(`[${ID_ATTR}]`)) old.removeAttribute(ID_ATTR);
  let nextId = 0;

  const squash = (text) => text.replace(/\s+/g, " ").trim();

  // "strong": the element is made to be used (a link, a button, a field, a handler);
  // "weak": only its pointer cursor says so; null: not interactive.
  function interactivity(el, style, parentStyle) {
    const tag = el.tagName;
    if (NATIVE.has(tag)) return el.disabled ? null : "strong";
    if (tag === "INPUT") return el.type === "hidden" || el.disabled ? null : "strong";
    if (tag === "A" && (el.hasAttribute("href") || el.onclick)) return "strong";
    if (el.isContentEditable && !(el.parentElement && el.parentElement.isContentEditable)) {
      return "strong";
    }
    const role = (el.getAttribute("role") || "").toLowerCase();
    if (ROLES.has(role)) return "strong";
    if (el.onclick || el.hasAttribute("onclick")) return "strong";
    const tabindex = el.getAttribute("tabindex");
    if (tabindex !== null && Number(tabindex) >= 0) return "strong";
    // A pointer cursor marks a clickable element; children merely inherit it.
    const pointer = style.cursor === "pointer";
    return pointer && (!parentStyle || parentStyle.cursor !== "pointer") ? "weak" : null;
  }

  function attributes(el) {
    const attrs = {};
    for (const name of SHOWN_ATTRS) {
      const value = el.getAttribute(name);
      if (value !== null && squash(value) !== "") attrs[name] = squash(value).slice(0, 200);
    }
    const tag = el.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA") {
      if (el.type === "checkbox" || el.type === "radio") {
        attrs.checked = el.checked ? "true" : "false";
      } else if (el.type !== "password") {
        attrs.value = el.value;
      }
    }
    if (tag === "SELECT") {
      attrs.value = el.selectedIndex >= 0 ? squash(el.options[el.selectedIndex].text) : "";
      attrs.options = Array.from(el.options, (o) => squash(o.text)).join(" | ");
    }
    return attrs;
  }

  // First pass: the visible tree, each node {el, tag, attrs, items, kind}.
  function walk(el, parentStyle) {
    if (SKIPPED.has(el.tagName.toUpperCase())) return null;
    const style = window.getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") return null;
    if (style.display !== "contents" && el.getClientRects().length === 0) return null;
    const kind = interactivity(el, style, parentStyle);
    // Transparent elements are hidden from a reader, unless they can still be used.
    if (style.opacity === "0" && !kind) return null;
    const items = [];
    if (el.tagName !== "SELECT" && el.tagName !== "TEXTAREA") {
      const children = [...el.childNodes, ...(el.shadowRoot ? el.shadowRoot.children : [])];
      for (const child of children) {
        if (child.nodeType === Node.TEXT_NODE) {
          const text = squash(child.textContent);
          if (text) items.push(text);
        } else if (child.nodeType === Node.ELEMENT_NODE) {
          const node = walk(child, style);
          if (node) items.push(node);
        }
      }
    }
    return { el, tag: el.tagName.toLowerCase(), attrs: attributes(el), items, kind };
  }

  // Second pass: number the interactive elements in document order. An element that only
  // looks clickable (pointer cursor) but holds a real control is a card around that
  // control: the control gets the number, as in the PING authors' environment.
  function holdsControl(node) {
    return node.items.some((i) => typeof i !== "string" && (i.kind || holdsControl(i)));
  }
  function finish(node) {
    let id = null;
    if (node.kind === "strong" || (node.kind === "weak" && !holdsControl(node))) {
      id = nextId++;
      node.el.setAttribute(ID_ATTR, String(id));
    }
    const items = node.items.map((i) => (typeof i === "string" ? i : finish(i)));
    return [node.tag, id, node.attrs, items];
  }

  const root = walk(document.body || document.documentElement, null);
  return {
    // Which document this is, and how many tabs it has opened (see init.js).
    document: performance.timeOrigin,
    popups: window.__pingPopups ? window.__pingPopups() : 0,
    url: location.href,
    title: document.title,
    scroll: [window.scrollY, document.documentElement.scrollHeight, window.innerHeight],
    tree: root ? finish(root) : ["body", null, {}, []],
  };
}
