// Submit a backtest of a built-in strategy; its parameters come from GET /strategies.

import { ApiError, request } from "./api";
import { h } from "./dom";
import { navigate } from "./router";

interface Param {
  name: string;
  type: "int" | "float" | "bool" | string;
  default: number | boolean;
  min: number | boolean;
  max: number | boolean;
  step: number | null;
  description: string;
}
interface Strategy {
  id: string;
  name: string;
  builtin: boolean;
  description: string | null;
  parameters: Param[] | null;
}
interface Symbol {
  symbol: string;
}

const INTERVALS = ["1m", "5m", "15m", "30m", "1h", "4h", "1d"];

function paramInput(p: Param): HTMLInputElement {
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

function field(label: string, input: HTMLElement, hint = ""): HTMLElement {
  return h("label", {}, label, input, hint && h("small", {}, hint));
}

export async function submitPage(root: HTMLElement): Promise<void> {
  const [all, symbols] = await Promise.all([
    request<Strategy[]>("/strategies"),
    request<Symbol[]>("/symbols?status=TRADING&limit=500"),
  ]);
  const builtins = all.filter((s) => s.builtin);
  const picker = h("select", { name: "strategy" }, builtins.map((s) => h("option", { value: s.id }, s.name)));
  const paramsBox = h("fieldset", { id: "params" });
  const drawParams = () => {
    const s = builtins.find((b) => b.id === picker.value);
    paramsBox.replaceChildren(
      h("legend", {}, "Parameters"),
      s?.description ? h("p", {}, s.description) : "",
      ...(s?.parameters ?? []).map((p) =>
        field(p.name, paramInput(p), `${p.type}${p.type === "bool" ? "" : `, ${p.min}..${p.max}`} ${p.description}`),
      ),
    );
  };
  picker.addEventListener("change", drawParams);
  drawParams();

  const symbol = h("select", { name: "symbol" }, symbols.map((s) => h("option", { value: s.symbol }, s.symbol)));
  const interval = h("select", { name: "interval" }, INTERVALS.map((i) => h("option", { value: i, selected: i === "1h" }, i)));
  const today = new Date().toISOString().slice(0, 10);
  const start = h("input", { type: "date", name: "start", value: "2024-01-01", required: true });
  const end = h("input", { type: "date", name: "end", value: today, required: true });
  const cash = h("input", { type: "number", name: "cash", value: "10000", min: "1", step: "any", required: true });
  const fee = h("input", { type: "number", name: "fee_bps", value: "10", min: "0", max: "1000", step: "any" });
  const slip = h("input", { type: "number", name: "slippage_bps", value: "0", min: "0", max: "1000", step: "any" });
  const error = h("p", { class: "error", id: "submit-error" });

  const submit = async (ev: Event) => {
    ev.preventDefault();
    error.textContent = "";
    const params: Record<string, number | boolean> = {};
    for (const input of paramsBox.querySelectorAll("input")) {
      params[input.name] = input.type === "checkbox" ? input.checked : Number(input.value);
    }
    try {
      const accepted = await request<{ job_id: string }>("/backtests", {
        method: "POST",
        json: {
          strategy: picker.value,
          params,
          symbols: [symbol.value],
          interval: interval.value,
          start: `${start.value}T00:00:00Z`,
          end: `${end.value}T00:00:00Z`,
          cash: cash.value, // a decimal string: money is never a float
          fee_bps: Number(fee.value),
          slippage_bps: Number(slip.value),
        },
      });
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
      field("Strategy", picker),
      paramsBox,
      h(
        "div",
        { class: "grid" },
        field("Symbol", symbol),
        field("Interval", interval),
        field("Start", start),
        field("End", end),
        field("Cash", cash),
        field("Fees (bps)", fee),
        field("Slippage (bps)", slip),
      ),
      h("button", { type: "submit" }, "Run backtest"),
      error,
    ),
  );
}
