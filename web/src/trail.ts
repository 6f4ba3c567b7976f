// The trail of an account's latest signals: each signal, then what the risk gate and the
// venue made of it (refusals with their rule and reason, orders, fills), by correlation id.

import { request } from "./api";
import { fmtTime, h } from "./dom";

type Doc = Record<string, unknown>;
export interface Trail {
  correlation_id: string;
  outcome: string;
  signal: Doc | null;
  rejections: Doc[];
  orders: Doc[];
  fills: Doc[];
}

const str = (v: unknown) => (v === null || v === undefined ? "–" : String(v));

function steps(t: Trail): HTMLElement {
  const items: HTMLElement[] = [];
  for (const r of t.rejections) items.push(h("li", { class: "error rejection" }, `refused by ${str(r.code)}: ${str(r.reason)}`));
  for (const o of t.orders) items.push(h("li", { class: "order" }, `order ${str(o.side)} ${str(o.quantity)} ${str(o.type ?? o.order_type)} ${str(o.status)} (${str(o.client_order_id)})`));
  for (const f of t.fills) items.push(h("li", { class: "fill" }, `fill ${str(f.side)} ${str(f.quantity)} @ ${str(f.price)} fee ${str(f.fee)} (trade ${str(f.trade_id)})`));
  if (!items.length) items.push(h("li", { class: "muted" }, "no answer from the risk gate yet"));
  return h("ul", { class: "steps" }, items);
}

export function trailTable(trails: Trail[]): HTMLElement {
  if (!trails.length) return h("p", { class: "muted", id: "trail" }, "No signals yet.");
  return h("table", { id: "trail" },
    h("thead", {}, h("tr", {}, ["Candle", "Symbol", "Signal", "Outcome", "What followed", "Correlation id"].map((c) => h("th", {}, c)))),
    h("tbody", {}, trails.map((t) => {
      const s = t.signal ?? {};
      return h("tr", { "data-correlation": t.correlation_id },
        h("td", {}, s.candle_open_time ? fmtTime(Number(s.candle_open_time)) : "–"),
        h("td", {}, str(s.symbol)),
        h("td", {}, `${str(s.action)} @ ${str(s.reference_price)}`),
        h("td", { class: `outcome outcome-${t.outcome}` }, t.outcome),
        h("td", {}, steps(t)),
        h("td", { class: "muted" }, t.correlation_id.slice(0, 8)));
    })));
}

export async function loadTrails(account: string): Promise<Trail[]> {
  return request<Trail[]>(`/trails?account=${encodeURIComponent(account)}&limit=20`);
}
