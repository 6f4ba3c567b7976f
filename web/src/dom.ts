// A small element builder: h("a", { href: "/x", onclick }, "text", child).

type Attrs = Record<string, string | number | boolean | EventListener | undefined>;
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.replace(/^on/, ""), value);
    else if (key in el && key !== "list" && typeof value !== "string") {
      (el as unknown as Record<string, unknown>)[key] = value;
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A link handled by the client-side router. */
export function link(href: string, ...children: Child[]): HTMLAnchorElement {
  return h("a", { href, "data-link": true }, ...children);
}

export function fmtTime(ms: number | string): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().slice(0, 16).replace("T", " ");
}

export function fmtNum(value: unknown, digits = 2): string {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}

/** A decimal string (booked money, a price, a quantity) rounded half away from zero to
 * `digits` places for display, exactly (string and BigInt arithmetic, never a float);
 * `trim` drops trailing zeros (prices, quantities). Anything not a plain decimal is shown as
 * given; the exact value belongs in the element's title. */
export function fmtDecimal(value: unknown, digits: number, trim = false): string {
  if (value === null || value === undefined || value === "") return "\u2013";
  const text = String(value);
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) return text;
  const [, sign, whole, frac = ""] = m;
  const up = frac.length > digits && frac[digits] >= "5" ? 1n : 0n;
  const scaled = (BigInt(whole + frac.slice(0, digits).padEnd(digits, "0")) + up).toString().padStart(digits + 1, "0");
  let out = digits ? `${scaled.slice(0, -digits)}.${scaled.slice(-digits)}` : scaled;
  if (trim && digits) out = out.replace(/\.?0+$/, "");
  return sign && /[1-9]/.test(out) ? `-${out}` : out;
}

export function fmtPct(value: unknown): string {
  return typeof value === "number" && Number.isFinite(value) ? `${(value * 100).toFixed(2)}%` : "–";
}

/** Offer `text` as a file download. */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
