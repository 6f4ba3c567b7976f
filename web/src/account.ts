// One account: its portfolio (equity, PnL, balances, positions, equity curve), kill switch
// state, the trail of its signals and the ones the risk gate refused, kept current over the
// gateway's `/ws` push (portfolio snapshots redraw the numbers and extend the curve; signals
// and fills reload the trail) without a reload.

import { ApiError, request, socketUrl } from "./api";
import { liveEquityChart } from "./charts";
import { fmtDecimal, fmtTime, h } from "./dom";
import { loadTrails, trailTable } from "./trail";

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

/** Money in these columns shows to the cent, prices and quantities to 8 places; the exact
 * booked value stays in each cell's title. */
const MONEY = new Set(["total", "locked", "free", "unrealized_pnl", "realized_pnl", "funding", "fees_paid"]);
const PRECISE = new Set(["quantity", "average_entry", "mark_price", "liquidation_price"]);

function cell(key: string, value: unknown): HTMLElement {
  if (value === null || value === undefined) return h("td", {}, "\u2013");
  const exact = String(value);
  if (MONEY.has(key)) return h("td", { class: "num", title: exact }, fmtDecimal(exact, 2));
  if (PRECISE.has(key)) return h("td", { class: "num", title: exact }, fmtDecimal(exact, 8, true));
  return h("td", {}, exact);
}

/** Rows of objects as a table, the columns from the first row (money stays a string). */
function rowsTable(id: string, rows: Record<string, unknown>[]): HTMLElement {
  if (!rows.length) return h("p", { class: "muted", id }, "None.");
  const keys = Object.keys(rows[0]);
  return h("table", { id }, h("thead", {}, h("tr", {}, keys.map((k) => h("th", {}, k)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, keys.map((k) => cell(k, r[k]))))));
}

function killSwitch(p: Portfolio): HTMLElement {
  const k = p.kill_switch;
  if (!k || !k.tripped) return h("p", { id: "kill-switch", class: "check-valid" }, "Kill switch: not tripped.");
  const when = k.since ? fmtTime(k.since) : "?";
  const state = k.active ? "TRIPPED: entries are refused until the end of the UTC day or a reset (kwont-risk reset-kill-switch)" : "tripped on an earlier day, no longer active";
  return h("p", { id: "kill-switch", class: k.active ? "error" : "muted" }, `Kill switch ${state}. ${k.code}: ${k.reason} (${when})`);
}

let stopLive: (() => void) | null = null;

/** Close the account's socket and chart (leaving the page, or opening another account). */
export function closeAccount(): void {
  stopLive?.();
  stopLive = null;
}

function pnlTable(p: Portfolio): HTMLElement {
  const money = (label: string, v: string | null) =>
    h("tr", {}, h("th", {}, label), h("td", { title: v ?? "" }, fmtDecimal(v, 2)));
  return h("table", { class: "metrics", id: "pnl" }, h("tbody", {},
    money("Equity", p.equity), money("Realized PnL", p.realized_pnl), money("Unrealized PnL", p.unrealized_pnl),
    money("Fees paid", p.fees_paid),
    h("tr", {}, h("th", {}, "Updated"), h("td", {}, p.updated_at ? fmtTime(p.updated_at) : "\u2013"))));
}

/** The snapshot pushed over `/ws` (the PortfolioSnapshot event) as the REST shape. */
function fromSnapshot(data: Record<string, unknown>, was: Portfolio | null): Portfolio {
  const s = (k: string) => (data[k] === undefined || data[k] === null ? null : String(data[k]));
  return {
    account: String(data.account), equity: s("equity"), realized_pnl: s("realized_pnl"), unrealized_pnl: s("unrealized_pnl"),
    fees_paid: s("fees_paid"), balances: (data.balances as Record<string, unknown>[]) ?? [],
    positions: (data.positions as Record<string, unknown>[]) ?? [], updated_at: Number(data.event_time), kill_switch: was?.kill_switch ?? null,
  };
}

export async function accountBox(box: HTMLElement, account: string): Promise<void> {
  closeAccount();
  const enc = encodeURIComponent(account);
  const [first, curve, rejections, trails] = await Promise.all([
    request<Portfolio>(`/portfolio/${enc}`).catch((err) => {
      if (err instanceof ApiError && err.status === 404) return null; // no snapshot yet
      throw err;
    }),
    request<{ points: number[][] }>(`/portfolio/${enc}/equity?points=2000`).catch(() => ({ points: [] })),
    request<Rejection[]>(`/risk-rejections?account=${enc}&limit=20`),
    loadTrails(account),
  ]);
  let p = first;
  const numbers = h("div", { id: "portfolio" });
  const chartBox = h("div", { class: "chart", id: "account-equity" });
  const trailBox = h("div", {}, trailTable(trails));
  const rejectBox = h("div");
  const status = h("p", { id: "live-status", class: "muted" }, "connecting…");
  const drawNumbers = () => {
    if (!p) {
      numbers.replaceChildren(h("p", { class: "muted" }, "No portfolio snapshot yet (the portfolio service writes one after the first fill or mark)."));
      return;
    }
    numbers.replaceChildren(pnlTable(p), killSwitch(p),
      h("h4", {}, "Positions"), rowsTable("positions", p.positions),
      h("h4", {}, "Balances"), rowsTable("balances", p.balances));
  };
  const drawRejections = (rows: Rejection[]) => rejectBox.replaceChildren(
    rowsTable("rejections", rows.map((r) => ({ time: fmtTime(r.event_time), symbol: r.symbol, rule: r.code, reason: r.reason }))));
  drawNumbers();
  drawRejections(rejections);
  box.replaceChildren(h("h3", {}, `Account ${account}`), status, numbers,
    h("h4", {}, "Equity"), chartBox,
    h("h4", {}, "Trail: signals -> orders -> fills (latest 20)"), trailBox,
    h("h4", {}, "Risk rejections (latest 20)"), rejectBox);
  const equity = liveEquityChart(chartBox, curve.points);
  const reloadTrail = async () => {
    const [t, r] = await Promise.all([loadTrails(account), request<Rejection[]>(`/risk-rejections?account=${enc}&limit=20`)]);
    trailBox.replaceChildren(trailTable(t));
    drawRejections(r);
  };
  let closed = false;
  let ws: WebSocket | null = null;
  const open = async () => {
    ws = new WebSocket(await socketUrl("/ws"));
    ws.onopen = () => {
      for (const channel of ["portfolio", "signals", "fills"]) ws?.send(JSON.stringify({ op: "subscribe", channel, account }));
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data));
      if (msg.type === "subscribed" && msg.channel === "portfolio") status.textContent = "live: updates as the portfolio changes";
      if (msg.type === "error") status.textContent = `live updates failed: ${msg.message}`;
      if (msg.type !== "event") return;
      if (msg.channel === "portfolio") {
        p = fromSnapshot(msg.data, p);
        drawNumbers();
        if (p.equity !== null && p.updated_at) equity.add(p.updated_at, Number(p.equity));
      } else {
        void reloadTrail(); // a signal or a fill: the trail (and maybe a refusal) changed
      }
    };
    ws.onclose = () => {
      if (closed) return;
      status.textContent = "live updates lost; reconnecting…";
      window.setTimeout(() => void open(), 2000);
    };
  };
  await open();
  stopLive = () => {
    closed = true;
    ws?.close();
    equity.chart.remove();
  };
  box.scrollIntoView();
}
