// One backtest: live progress while it runs (WebSocket), then its metrics, charts, trades.

import { request, socketUrl } from "./api";
import { candleChart, equityChart, tradeTime, type Trade } from "./charts";
import { download, fmtNum, fmtTime, h } from "./dom";
import { onLeave } from "./router";

interface Backtest {
  id: string;
  status: string;
  progress: { stage: string; fraction: number };
  strategy: { name: string };
  params: Record<string, unknown>;
  symbols: string[];
  interval: string;
  start_time: number;
  end_time: number;
  error: string | null;
}
interface Result {
  metrics: Record<string, unknown>;
  final_equity: string | null;
  trade_count: number;
  equity: number[][];
}
interface TradePage {
  items: Trade[];
  next_cursor: string | null;
  total: number;
}

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const PAGE = 25;
const MARKER_TRADES = 1000; // markers for at most this many trades (one page)

export async function resultPage(root: HTMLElement, id: string): Promise<void> {
  const bt = await request<Backtest>(`/backtests/${id}`);
  const params = Object.entries(bt.params).map(([k, v]) => `${k}=${v}`).join(" ");
  root.append(
    h("h2", {}, `${bt.strategy.name} on ${bt.symbols.join(", ")} ${bt.interval}`),
    h("p", { class: "muted" }, `${fmtTime(bt.start_time)} → ${fmtTime(bt.end_time)} · ${params} · `, h("span", { id: "status" }, bt.status)),
  );
  if (!TERMINAL.has(bt.status)) return watch(root, bt);
  if (bt.status !== "succeeded") {
    root.append(h("p", { class: "error" }, bt.error ?? bt.status));
    return;
  }
  const result = await request<Result>(`/backtests/${id}/result?points=2000`);
  root.append(
    metricsTable(result),
    h(
      "p",
      {},
      h("button", { id: "download-json", onclick: () => download(`${id}.json`, JSON.stringify(result, null, 2), "application/json") }, "Result JSON"),
      " ",
      h("button", { id: "download-csv", onclick: async () => download(`${id}-trades.csv`, toCsv(await allTrades(id)), "text/csv") }, "Trades CSV"),
    ),
  );
  const equityBox = h("div", { class: "chart tall", id: "equity-chart" });
  const candleBox = h("div", { class: "chart", id: "candle-chart" });
  const markerNote = h("p", { class: "muted" });
  root.append(h("h3", {}, "Equity and drawdown"), equityBox, h("h3", {}, `${bt.symbols[0]} ${bt.interval}`), candleBox, markerNote);
  const charts = [equityChart(equityBox, result.equity)];
  onLeave(() => charts.forEach((c) => c.remove()));

  const [candles, firstTrades] = await Promise.all([
    request<{ candles: number[][]; merged: number }>(
      `/candles/${bt.symbols[0]}?interval=${bt.interval}&start=${bt.start_time}&end=${bt.end_time}&max_points=3000`,
    ),
    request<TradePage>(`/backtests/${id}/trades?limit=${MARKER_TRADES}`),
  ]);
  const own = firstTrades.items.filter((t) => !t.symbol || t.symbol === bt.symbols[0]);
  charts.push(candleChart(candleBox, candles.candles, own));
  markerNote.textContent =
    (candles.merged > 1 ? `Each bar merges ${candles.merged} ${bt.interval} candles. ` : "") +
    (firstTrades.total > MARKER_TRADES ? `Markers for the first ${MARKER_TRADES} of ${firstTrades.total} trades.` : "");
  root.append(h("h3", {}, "Trades"), tradesTable(id));
}

function metricsTable(result: Result): HTMLElement {
  const rows = Object.entries(result.metrics)
    .filter(([k, v]) => k !== "final_equity" && (typeof v === "number" || typeof v === "string")) // shown first, as booked
    .map(([k, v]) => h("tr", {}, h("th", {}, k.replaceAll("_", " ")), h("td", {}, typeof v === "number" ? fmtNum(v, 4) : String(v))));
  rows.unshift(
    h("tr", {}, h("th", {}, "final equity"), h("td", {}, result.final_equity ?? "–")),
    h("tr", {}, h("th", {}, "trades"), h("td", {}, String(result.trade_count))),
  );
  return h("table", { class: "metrics", id: "metrics" }, h("tbody", {}, rows));
}

/** A progress bar fed by /ws/backtests/{id}; the page redraws when the result arrives. */
async function watch(root: HTMLElement, bt: Backtest): Promise<void> {
  const bar = h("progress", { id: "progress", max: 1, value: bt.progress.fraction });
  const stage = h("span", {}, bt.progress.stage);
  root.append(h("p", {}, bar, " ", stage));
  const ws = new WebSocket(await socketUrl(`/ws/backtests/${bt.id}`));
  let finished = false;
  ws.onclose = () => {
    delete bar.dataset.live;
    if (!finished) stage.textContent += " (live updates stopped: reload the page)";
  };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    // the server subscribes before it sends the state: from here on no push is missed
    if (msg.type === "state") bar.dataset.live = "on";
    const p = msg.type === "state" ? msg.data.progress : msg.data;
    if (msg.type === "result") {
      finished = true;
      window.dispatchEvent(new PopStateEvent("popstate")); // redraw with the result
    } else if (p && typeof p.fraction === "number") {
      bar.value = p.fraction;
      stage.textContent = `${p.stage} ${Math.round(p.fraction * 100)}%${p.message ? ` · ${p.message}` : ""}`;
    }
  };
  onLeave(() => {
    finished = true;
    ws.close();
  });
}

const TRADE_COLUMNS = ["side", "symbol", "entry_time", "entry_price", "exit_time", "exit_price", "qty", "fees", "pnl", "exit_reason"];

function cell(t: Trade, col: string): string {
  if (col === "entry_time" || col === "exit_time") return fmtTime(tradeTime(t, col === "entry_time" ? "entry" : "exit"));
  const v = t[col];
  return typeof v === "number" ? fmtNum(v, 4) : String(v ?? "");
}

/** Trades `PAGE` at a time through `limit` + `cursor`; earlier cursors are kept for "previous". */
function tradesTable(id: string): HTMLElement {
  const box = h("div", { id: "trades" });
  const cursors: (string | null)[] = [null];
  let index = 0;
  const show = async () => {
    const cursor = cursors[index];
    const page = await request<TradePage>(`/backtests/${id}/trades?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    cursors[index + 1] = page.next_cursor;
    const first = index * PAGE;
    box.replaceChildren(
      h(
        "table",
        { class: "trades" },
        h("thead", {}, h("tr", {}, TRADE_COLUMNS.map((c) => h("th", {}, c.replaceAll("_", " "))))),
        h("tbody", {}, page.items.map((t) => h("tr", {}, TRADE_COLUMNS.map((c) => h("td", {}, cell(t, c)))))),
      ),
      h(
        "p",
        { class: "pager" },
        h("button", { id: "trades-prev", disabled: index === 0, onclick: () => { index -= 1; void show(); } }, "Previous"),
        h("span", { id: "trades-range" }, ` ${page.total ? first + 1 : 0}–${first + page.items.length} of ${page.total} `),
        h("button", { id: "trades-next", disabled: page.next_cursor === null, onclick: () => { index += 1; void show(); } }, "Next"),
      ),
    );
  };
  void show();
  return box;
}

async function allTrades(id: string): Promise<Trade[]> {
  const out: Trade[] = [];
  let cursor: string | null = null;
  do {
    const page: TradePage = await request<TradePage>(`/backtests/${id}/trades?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

function toCsv(trades: Trade[]): string {
  const cols = [...new Set(trades.flatMap((t) => Object.keys(t)))];
  const quote = (v: unknown) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [cols.join(","), ...trades.map((t) => cols.map((c) => quote(t[c])).join(","))].join("\n") + "\n";
}
