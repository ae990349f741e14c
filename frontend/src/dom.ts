// DOM building. Every value from the API becomes a text node or an attribute value: nothing is ever
// parsed as HTML (no innerHTML anywhere), so a log line "<script>alert(1)</script>" shows literally.

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  append(node, children);
  return node;
}

function setAttrs(node: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.setAttribute('class', String(v));
    /* through the CSSOM: the page's Content-Security-Policy refuses style attributes in markup */
    else if (k === 'style') (node as HTMLElement).style.cssText = String(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
}

export function append(node: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/* A link to a route of this page: ids are URI-encoded, so no value from the API can become a
 * javascript: or external URL. */
export function routeLink(parts: (string | number)[], ...children: Child[]): HTMLAnchorElement {
  return el('a', { href: '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/') }, ...children);
}

export function badge(text: string, kind = text): HTMLElement {
  return el('span', { class: `badge b-${kind.replace(/[^a-z0-9-]/gi, '')}` }, text);
}

/* A card: a titled section. */
export function card(id: string, title: string, ...children: Child[]): HTMLElement {
  return el('section', { class: 'card', id }, el('h3', {}, title), ...children);
}
