// Grid searches: the list, and the form. Each parameter takes a value, a list ("5,10,15") or
// a range ("5:20:5", inclusive); those with more than one value make the grid.

import { ApiError, request } from "./api";
import { fmtNum, fmtTime, h, link } from "./dom";
import { navigate } from "./router";
import { field, runForm } from "./runspec";

export interface Optimization {
  id: string;
  status: string;
  strategy: string;
  objective: string;
  combinations: number;
  shards_total: number;
  shards_done: number;
  shards_failed: number;
  submitted_at: string;
  ranking: { params: Record<string, unknown>; score: number | null; metrics: Record<string, unknown> }[];
  guards: Record<string, number | null> | null;
  walk_forward: { status: string; error: string | null; report: WalkForwardReport | null } | null;
}
export interface WalkForwardReport {
  objective: string;
  mean_in_sample_score: number | null;
  mean_out_of_sample_score: number | null;
  windows: {
    in_sample: string[];
    out_of_sample: string[];
    params: Record<string, unknown>;
    in_sample_score: number | null;
    out_of_sample_score: number | null;
  }[];
}

const OBJECTIVES = ["sharpe", "sortino", "calmar", "total_return", "cagr", "profit_factor", "expectancy", "win_rate", "final_equity", "max_drawdown"];

export async function optimizationsPage(root: HTMLElement): Promise<void> {
  const all = await request<Optimization[]>("/optimizations?limit=50");
  const rows = all.map((o) =>
    h(
      "tr",
      {},
      h("td", {}, link(`/optimizations/${o.id}`, fmtTime(o.submitted_at))),
      h("td", {}, o.strategy),
      h("td", {}, o.objective),
      h("td", {}, String(o.combinations)),
      h("td", {}, `${o.status} (${o.shards_done}/${o.shards_total} shards)`),
      h("td", {}, fmtNum(o.ranking[0]?.score ?? null, 3)),
    ),
  );
  root.append(
    h("h2", {}, "Grid searches ", link("/optimizations/new", "+ new")),
    all.length
      ? h("table", { id: "optimizations" }, h("thead", {}, h("tr", {}, ["Submitted", "Strategy", "Objective", "Combinations", "Status", "Best score"].map((c) => h("th", {}, c)))), h("tbody", {}, rows))
      : h("p", {}, "No grid searches yet."),
  );
}

/** A parameter's text as the API takes it: a number, a list, or "start:stop:step". */
function axis(text: string): number | number[] | string | boolean {
  const t = text.trim();
  if (t === "true" || t === "false") return t === "true";
  if (t.includes(":")) return t;
  if (t.includes(",")) return t.split(",").map((x) => Number(x.trim()));
  return Number(t);
}

export async function newOptimizationPage(root: HTMLElement): Promise<void> {
  const run = await runForm();
  const paramsBox = h("fieldset", { id: "grid" });
  const drawParams = () => {
    const s = run.selected();
    paramsBox.replaceChildren(
      h("legend", {}, "Grid"),
      ...(s?.parameters ?? []).map((p) =>
        field(p.name, h("input", { type: "text", name: p.name, value: String(p.default), required: true }),
          `${p.type}${p.type === "bool" ? "" : `, ${p.min}..${p.max}`}: a value, a list 5,10,15 or a range 5:20:5`),
      ),
    );
  };
  run.picker.addEventListener("change", drawParams);
  drawParams();
  const objective = h("select", { name: "objective" }, OBJECTIVES.map((o) => h("option", { value: o }, o)));
  const windows = h("input", { type: "number", name: "wf_windows", min: "2", max: "50", placeholder: "none" });
  const error = h("p", { class: "error", id: "submit-error" });
  const submit = async (ev: Event) => {
    ev.preventDefault();
    error.textContent = "";
    const grid: Record<string, unknown> = {};
    const params: Record<string, unknown> = {};
    for (const input of paramsBox.querySelectorAll("input")) {
      const value = axis(input.value);
      if (typeof value === "string" || Array.isArray(value)) grid[input.name] = value;
      else params[input.name] = value;
    }
    const body = { ...run.spec(), params, grid, objective: objective.value, walk_forward: windows.value ? { windows: Number(windows.value) } : undefined };
    try {
      const accepted = await request<{ optimization_id: string }>("/optimizations", { method: "POST", json: body });
      navigate(`/optimizations/${accepted.optimization_id}`);
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
    }
  };
  root.append(
    h(
      "form",
      { class: "card", id: "optimize-form", onsubmit: submit },
      h("h2", {}, "New grid search"),
      field("Strategy", run.picker),
      paramsBox,
      run.fields,
      h("div", { class: "grid" }, field("Objective", objective), field("Walk-forward windows", windows, "empty: no walk-forward")),
      h("button", { type: "submit" }, "Run grid search"),
      error,
    ),
  );
}
