// One grid search: shard progress (polled), then the ranking, a heatmap of the score over two
// chosen parameters, the overfitting guards of the winner and the walk-forward windows.

import { request } from "./api";
import { fmtNum, fmtTime, h } from "./dom";
import { heatmap } from "./heatmap";
import type { Optimization, WalkForwardReport } from "./optimize";
import { onLeave } from "./router";

const POLL_MS = 1000;
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const GUARDS: [key: string, label: string, explain: string][] = [
  ["psr", "PSR", "Probability that the winner's true Sharpe ratio is above 0, given its length, skew and kurtosis."],
  ["dsr", "DSR", "The same probability against the best Sharpe ratio as many skill-less trials would show; below 0.95 the winner is not distinguishable from the luck of the search."],
  ["pbo", "PBO", "How often the in-sample best parameter set ends at or below the out-of-sample median over the half/half splits of the bars; near 0.5 is a random pick."],
  ["n_trials", "Trials", "Parameter sets evaluated (the search's size the DSR deflates by)."],
  ["sharpe", "Winner's Sharpe", "Per bar, not annualised."],
  ["expected_max_sharpe", "Expected best Sharpe", "What the best of the trials would show by luck alone (per bar)."],
];

function rankingTable(o: Optimization, keys: string[]): HTMLElement {
  const metrics = ["total_return", "max_drawdown", "trades"].filter((m) => o.ranking.some((r) => m in r.metrics));
  return h(
    "table",
    { id: "ranking" },
    h("thead", {}, h("tr", {}, ["#", ...keys, `score (${o.objective})`, ...metrics].map((c) => h("th", {}, c)))),
    h("tbody", {}, o.ranking.map((r, i) =>
      h("tr", {}, h("td", {}, String(i + 1)), keys.map((k) => h("td", {}, String(r.params[k]))), h("td", {}, fmtNum(r.score, 4)),
        metrics.map((m) => h("td", {}, fmtNum(r.metrics[m], 4)))),
    )),
  );
}

function guardsBox(o: Optimization): HTMLElement {
  if (!o.guards) {
    const why = o.status === "succeeded" ? "not available for this search (its shards were stored without return moments)." : "computed once every shard has succeeded.";
    return h("p", { id: "guards", class: "muted" }, `Overfitting guards: ${why}`);
  }
  const g = o.guards;
  return h("table", { id: "guards", class: "metrics" }, h("tbody", {}, GUARDS.map(([key, label, explain]) =>
    h("tr", { "data-guard": key }, h("th", {}, label), h("td", {}, key === "n_trials" ? String(g[key]) : fmtNum(g[key], 3)), h("td", { class: "muted" }, explain)))));
}

function walkForwardBox(o: Optimization): HTMLElement | string {
  const wf = o.walk_forward;
  if (!wf) return h("p", { class: "muted", id: "walk-forward" }, "No walk-forward was asked for this search.");
  if (!wf.report) return h("p", { class: "muted", id: "walk-forward" }, `Walk-forward: ${wf.status}${wf.error ? `: ${wf.error}` : ""}`);
  const r: WalkForwardReport = wf.report;
  const span = (xs: string[]) => `${fmtTime(xs[0])} → ${fmtTime(xs[1])}`;
  return h(
    "table",
    { id: "walk-forward" },
    h("thead", {}, h("tr", {}, ["Window", "In sample", "Out of sample", "Chosen params", `IS ${r.objective}`, `OOS ${r.objective}`].map((c) => h("th", {}, c)))),
    h("tbody", {}, r.windows.map((w, i) =>
      h("tr", {}, h("td", {}, String(i + 1)), h("td", {}, span(w.in_sample)), h("td", {}, span(w.out_of_sample)),
        h("td", {}, Object.entries(w.params).map(([k, v]) => `${k}=${v}`).join(" ")),
        h("td", {}, fmtNum(w.in_sample_score, 3)), h("td", {}, fmtNum(w.out_of_sample_score, 3))),
    ), h("tr", {}, h("th", { colspan: 4 }, "Mean"), h("th", {}, fmtNum(r.mean_in_sample_score, 3)), h("th", {}, fmtNum(r.mean_out_of_sample_score, 3)))),
  );
}

function axisPicker(name: string, keys: string[], chosen: string, onChange: (v: string) => void): HTMLElement {
  const select = h("select", { name, onchange: (ev: Event) => onChange((ev.target as HTMLSelectElement).value) },
    keys.map((k) => h("option", { value: k, selected: k === chosen }, k)));
  return h("label", {}, name === "hm-x" ? "Across" : "Up", select);
}

export async function optimizationPage(root: HTMLElement, id: string): Promise<void> {
  let timer = 0;
  onLeave(() => clearTimeout(timer));
  let x = "";
  let y = "";
  const body = h("div");
  const draw = (o: Optimization) => {
    // Parameters that vary across the ranking: the heatmap's candidate axes.
    const keys = Object.keys(o.ranking[0]?.params ?? {});
    const varied = keys.filter((k) => new Set(o.ranking.map((r) => String(r.params[k]))).size > 1);
    if (!varied.includes(x)) x = varied[0] ?? "";
    if (!varied.includes(y) || y === x) y = varied.find((k) => k !== x) ?? "";
    const map = h("div", { id: "heatmap-box" });
    const drawMap = () => map.replaceChildren(
      h("div", { class: "pager" }, axisPicker("hm-x", varied, x, (v) => { if (v === y) y = x; x = v; drawMap(); }), axisPicker("hm-y", varied, y, (v) => { if (v === x) x = y; y = v; drawMap(); })),
      x && y && x !== y ? heatmap(o.ranking, x, y) : h("p", { class: "muted" }, "The heatmap needs two parameters that vary."),
    );
    drawMap();
    body.replaceChildren(
      h("h2", {}, `Grid search: ${o.strategy}`),
      h("p", { class: "muted" }, `${fmtTime(o.submitted_at)} · ${o.combinations} combinations · objective ${o.objective} · `, h("span", { id: "status" }, o.status)),
      h("p", {}, h("progress", { id: "progress", max: o.shards_total, value: o.shards_done }), ` ${o.shards_done} of ${o.shards_total} shards`, o.shards_failed ? h("span", { class: "error" }, ` (${o.shards_failed} failed)`) : ""),
      h("h3", {}, "Overfitting guards of the winner"),
      guardsBox(o),
      ...(o.ranking.length ? [h("h3", {}, "Score over two parameters"), varied.length >= 2 ? map : h("p", { class: "muted" }, "Only one parameter varies: see the ranking.")] : []),
      h("h3", {}, "Walk-forward"),
      walkForwardBox(o),
      h("h3", {}, `Ranking (${o.ranking.length} of ${o.combinations})`),
      o.ranking.length ? rankingTable(o, keys) : h("p", { class: "muted" }, "No shard has finished yet."),
    );
  };
  const load = async () => {
    const o = await request<Optimization>(`/optimizations/${id}?top=5000`);
    draw(o);
    if (!TERMINAL.has(o.status) || (o.walk_forward && !TERMINAL.has(o.walk_forward.status))) {
      timer = window.setTimeout(() => void load(), POLL_MS);
    }
  };
  root.append(body);
  await load();
}
