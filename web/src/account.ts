// One account: its portfolio (equity, PnL, balances, positions), kill switch state and the
// signals the risk gate refused.

import { ApiError, request } from "./api";
import { fmtTime, h } from "./dom";

interface Portfolio {
  account: string;
  equity: string | null;
  realized_pnl: string | null;
  unrealized_pnl: string | null;
  fees_paid: string | null;
  balances: Record<string, unknown>[];
  positions: Record<string, unknown>[];
  updated_at: number | null;
  kill_switch: { tripped: boolean; active: boolean; code: string | null; reason: string | null; since: number | null } | null;
}
interface Rejection {
  symbol: string;
  code: string;
  reason: string;
  event_time: number;
}

/** Rows of objects as a table, the columns from the first row (money stays a string). */
function rowsTable(id: string, rows: Record<string, unknown>[]): HTMLElement {
  if (!rows.length) return h("p", { class: "muted", id }, "None.");
  const keys = Object.keys(rows[0]);
  return h("table", { id }, h("thead", {}, h("tr", {}, keys.map((k) => h("th", {}, k)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, keys.map((k) => h("td", {}, String(r[k] ?? "–")))))));
}

function killSwitch(p: Portfolio): HTMLElement {
  const k = p.kill_switch;
  if (!k || !k.tripped) return h("p", { id: "kill-switch", class: "check-valid" }, "Kill switch: not tripped.");
  const when = k.since ? fmtTime(k.since) : "?";
  const state = k.active ? "TRIPPED: entries are refused until the end of the UTC day or a reset (kwont-risk reset-kill-switch)" : "tripped on an earlier day, no longer active";
  return h("p", { id: "kill-switch", class: k.active ? "error" : "muted" }, `Kill switch ${state}. ${k.code}: ${k.reason} (${when})`);
}

export async function accountBox(box: HTMLElement, account: string): Promise<void> {
  const [p, rejections] = await Promise.all([
    request<Portfolio>(`/portfolio/${encodeURIComponent(account)}`).catch((err) => {
      if (err instanceof ApiError && err.status === 404) return null; // no snapshot yet
      throw err;
    }),
    request<Rejection[]>(`/risk-rejections?account=${encodeURIComponent(account)}&limit=20`),
  ]);
  box.replaceChildren(h("h3", {}, `Account ${account}`));
  if (!p) {
    box.append(h("p", { class: "muted" }, "No portfolio snapshot yet (the portfolio service writes one after the first fill or mark)."));
  } else {
    box.append(
      h("table", { class: "metrics", id: "pnl" }, h("tbody", {},
        [["Equity", p.equity], ["Realized PnL", p.realized_pnl], ["Unrealized PnL", p.unrealized_pnl], ["Fees paid", p.fees_paid], ["Updated", p.updated_at ? fmtTime(p.updated_at) : null]]
          .map(([k, v]) => h("tr", {}, h("th", {}, k ?? ""), h("td", {}, v ?? "–"))))),
      killSwitch(p),
      h("h4", {}, "Positions"), rowsTable("positions", p.positions),
      h("h4", {}, "Balances"), rowsTable("balances", p.balances),
    );
  }
  box.append(h("h4", {}, "Risk rejections (latest 20)"),
    rowsTable("rejections", rejections.map((r) => ({ time: fmtTime(r.event_time), symbol: r.symbol, rule: r.code, reason: r.reason }))));
  box.scrollIntoView();
}
