// A deployment's divergence reports: ask for one (range, re-run slippage), follow its job,
// and read it: the summary whose parts add up to the PnL gap, the trades only one side has
// with their reason, and the matched trades with their delays and slippage (docs/divergence.md).

import { ApiError, request } from "./api";
import { fmtTime, h, link } from "./dom";
import { onLeave } from "./router";
import { field } from "./runspec";

interface TradeJson { symbol: string; side: string; entry_time_ms: number; exit_time_ms: number; entry_price: string; exit_price: string; qty: string; pnl: string }
interface OneSided { trade: TradeJson; side: string; reason: string; detail: string; pnl_gap: string }
interface Matched { live: TradeJson; backtest: TradeJson; entry_delay_ms: number; exit_delay_ms: number; entry_slippage: string; exit_slippage: string; slippage: string; fees: string; pnl_gap: string }
interface Summary { matched: number; missed: number; extra: number; matched_share: string; live_pnl: string; backtest_pnl: string; total_gap_cents: string; components_cents: Record<string, string>; notes: string[] }
interface Report { summary: Summary; matched: Matched[]; missed: OneSided[]; extra: OneSided[] }
interface Job { id: string; deployment_id: string; status: string; progress: { stage: string; fraction: number }; start_time: number; end_time: number; slippage_bps: number; fee_bps: number; error: string | null; report: Report | null }

const FINAL = ["succeeded", "failed", "cancelled"];
const cents = (v: string) => Number(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const table = (id: string, head: string[], rows: HTMLElement[]) =>
  h("table", { id }, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))), h("tbody", {}, rows));

function reportView(job: Job, r: Report): HTMLElement {
  const s = r.summary;
  const total = s.matched + s.missed + s.extra;
  const parts = Object.entries(s.components_cents).map(([k, v]) => h("tr", { "data-part": k }, h("td", {}, k), h("td", { class: "num" }, cents(v))));
  const oneSided = [...r.missed, ...r.extra].map((o) => h("tr", { "data-side": o.side },
    h("td", {}, o.side === "backtest_only" ? "missed (backtest only)" : "extra (live only)"),
    h("td", {}, `${o.trade.symbol} ${o.trade.side}`), h("td", {}, fmtTime(o.trade.entry_time_ms)),
    h("td", { class: "num" }, cents(o.pnl_gap)), h("td", { class: "reason" }, o.reason + (o.detail ? ` (${o.detail})` : ""))));
  const matched = r.matched.map((m) => h("tr", {},
    h("td", {}, `${m.live.symbol} ${m.live.side}`), h("td", {}, fmtTime(m.live.entry_time_ms)),
    h("td", { class: "num" }, `${Math.round(m.entry_delay_ms / 1000)} s / ${Math.round(m.exit_delay_ms / 1000)} s`),
    h("td", { class: "num" }, `${Number(m.entry_slippage).toPrecision(4)} / ${Number(m.exit_slippage).toPrecision(4)}`),
    h("td", { class: "num" }, cents(m.slippage)), h("td", { class: "num" }, cents(m.fees)), h("td", { class: "num" }, cents(m.pnl_gap))));
  return h("div", { id: "divergence-report" },
    h("p", { id: "divergence-summary" },
      `${fmtTime(job.start_time)} – ${fmtTime(job.end_time)}: matched ${s.matched} of ${total} trades (${(Number(s.matched_share) * 100).toFixed(2)} %), `,
      `missed ${s.missed}, extra ${s.extra}. Live PnL ${cents(s.live_pnl)}, backtest PnL ${cents(s.backtest_pnl)} `,
      `(re-run at ${job.fee_bps} bps fee, ${job.slippage_bps} bps slippage).`),
    h("div", { class: "grid" },
      h("div", { class: "card" }, h("h3", {}, "The PnL gap, to the cent"),
        table("divergence-parts", ["part", "amount"], [...parts, h("tr", { "data-part": "total" }, h("th", {}, "total gap"), h("th", { class: "num" }, cents(s.total_gap_cents)))]),
        s.notes.map((n) => h("p", { class: "muted" }, n)))),
    h("h3", {}, "Trades only one side has"),
    oneSided.length ? table("divergence-one-sided", ["", "trade", "entry", "gap", "reason"], oneSided) : h("p", { class: "muted", id: "divergence-one-sided" }, "none: every trade matched"),
    h("h3", {}, "Matched trades"),
    table("divergence-matched", ["trade", "entry (live)", "delay entry / exit", "slippage entry / exit (per unit)", "slippage", "fees", "gap"], matched));
}

export async function divergencePage(root: HTMLElement, depId: string): Promise<void> {
  const dep = await request<{ id: string; account: string; strategy: string; symbols: string[]; interval: string }>(`/deployments/${depId}`);
  let timer: number | undefined;
  onLeave(() => clearTimeout(timer));
  const shown = h("div", { id: "divergence-job" });
  const jobs = h("ul", { id: "divergence-jobs" });
  const show = async (id: string) => {
    clearTimeout(timer);
    const job = await request<Job>(`/deployments/${depId}/divergence/${id}`);
    if (job.status === "succeeded" && job.report) shown.replaceChildren(reportView(job, job.report));
    else if (FINAL.includes(job.status)) shown.replaceChildren(h("p", { class: "error" }, `${job.status}: ${job.error ?? ""}`));
    else {
      shown.replaceChildren(h("p", { id: "divergence-progress" }, `${job.status}: ${job.progress.stage} ${Math.round(job.progress.fraction * 100)} %`));
      timer = window.setTimeout(() => void show(id), 700);
    }
    if (FINAL.includes(job.status)) await list();
  };
  const list = async () => {
    const all = await request<Job[]>(`/deployments/${depId}/divergence`);
    jobs.replaceChildren(...all.map((j) => h("li", {}, h("a", { href: "#", "data-job": j.id, onclick: (ev: Event) => { ev.preventDefault(); void show(j.id); } },
      `${fmtTime(j.start_time)} – ${fmtTime(j.end_time)}`), ` ${j.status}`)));
  };
  const day = 86_400_000;
  const start = h("input", { name: "div-start", type: "datetime-local", required: true, value: new Date(Date.now() - day).toISOString().slice(0, 16) });
  const end = h("input", { name: "div-end", type: "datetime-local", required: true, value: new Date().toISOString().slice(0, 16) });
  const slippage = h("input", { name: "div-slippage", type: "number", min: "0", step: "any", value: "0" });
  const error = h("p", { class: "error", id: "divergence-error" });
  const submit = async (ev: Event) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      const r = await request<{ job_id: string }>(`/deployments/${depId}/divergence`, { method: "POST", json: { start: `${start.value}Z`, end: `${end.value}Z`, slippage_bps: Number(slippage.value) } });
      await list();
      await show(r.job_id);
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
    }
  };
  await list();
  root.append(
    h("h2", {}, `Divergence of ${dep.strategy} on ${dep.account}`), link("/live", "Back to Live"),
    h("p", { class: "muted" }, `${dep.symbols.join(", ")} ${dep.interval}: the live trades against the same strategy version and parameters re-run on the stored candles.`),
    h("form", { class: "card", id: "divergence-form", onsubmit: submit },
      h("div", { class: "grid" }, field("From (UTC)", start), field("To (UTC)", end), field("Re-run slippage (bps)", slippage)),
      h("button", { type: "submit" }, "Compare"), error),
    h("h3", {}, "Reports"), jobs, shown);
}
