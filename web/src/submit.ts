// Submit a backtest of a built-in or an uploaded strategy; the parameters come from its
// description in GET /strategies.

import { ApiError, request } from "./api";
import { h } from "./dom";
import { navigate } from "./router";
import { field, runForm } from "./runspec";
import type { Param } from "./strategies";

export function paramInput(p: Param): HTMLInputElement {
  if (p.type === "bool") return h("input", { type: "checkbox", name: p.name, checked: Boolean(p.default) });
  return h("input", {
    type: "number",
    name: p.name,
    value: String(p.default),
    min: String(p.min),
    max: String(p.max),
    step: p.type === "int" ? String(p.step ?? 1) : "any",
    required: true,
  });
}

export async function submitPage(root: HTMLElement): Promise<void> {
  const run = await runForm();
  const paramsBox = h("fieldset", { id: "params" });
  const drawParams = () => {
    const s = run.selected();
    paramsBox.replaceChildren(
      h("legend", {}, "Parameters"),
      s?.description ? h("p", {}, s.description) : "",
      s && !s.builtin && !s.parameters ? h("p", { class: "muted" }, "Its check has not finished: the parameters are not known yet.") : "",
      ...(s?.parameters ?? []).map((p) =>
        field(p.name, paramInput(p), `${p.type}${p.type === "bool" ? "" : `, ${p.min}..${p.max}`} ${p.description}`),
      ),
    );
  };
  run.picker.addEventListener("change", drawParams);
  drawParams();
  const error = h("p", { class: "error", id: "submit-error" });

  const submit = async (ev: Event) => {
    ev.preventDefault();
    error.textContent = "";
    const params: Record<string, number | boolean> = {};
    for (const input of paramsBox.querySelectorAll("input")) {
      params[input.name] = input.type === "checkbox" ? input.checked : Number(input.value);
    }
    try {
      const accepted = await request<{ job_id: string }>("/backtests", { method: "POST", json: { ...run.spec(), params } });
      navigate(`/backtests/${accepted.job_id}`);
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
    }
  };
  root.append(
    h(
      "form",
      { class: "card", id: "submit-form", onsubmit: submit },
      h("h2", {}, "New backtest"),
      field("Strategy", run.picker),
      paramsBox,
      run.fields,
      h("button", { type: "submit" }, "Run backtest"),
      error,
    ),
  );
}
