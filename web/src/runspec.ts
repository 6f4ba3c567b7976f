// What a backtest and a grid search share on their forms: the strategy picker (built-ins and
// uploads whose latest check did not fail; `?strategy=<id>` preselects one) and the run's
// symbol, interval, range, cash and costs.

import { request } from "./api";
import { h } from "./dom";
import type { Strategy } from "./strategies";

interface Symbol {
  symbol: string;
}

const INTERVALS = ["1m", "5m", "15m", "30m", "1h", "4h", "1d"];

export function field(label: string, input: HTMLElement, hint = ""): HTMLElement {
  return h("label", {}, label, input, hint && h("small", {}, hint));
}

export interface RunForm {
  strategies: Strategy[];
  picker: HTMLSelectElement;
  selected: () => Strategy | undefined;
  fields: HTMLElement;
  /** The run's part of the request body (cash as a decimal string: money is never a float). */
  spec: () => Record<string, unknown>;
}

export async function runForm(): Promise<RunForm> {
  const [all, symbols] = await Promise.all([
    request<Strategy[]>("/strategies"),
    request<Symbol[]>("/symbols?status=TRADING&limit=500"),
  ]);
  const strategies = all.filter((s) => s.builtin || s.versions.at(-1)?.check.status !== "invalid");
  const wanted = new URLSearchParams(location.search).get("strategy");
  const label = (s: Strategy) => (s.builtin ? s.name : `${s.name} (uploaded v${s.latest_version})`);
  const picker = h("select", { name: "strategy" }, strategies.map((s) => h("option", { value: s.id, selected: s.id === wanted }, label(s))));
  const symbol = h("select", { name: "symbol" }, symbols.map((s) => h("option", { value: s.symbol }, s.symbol)));
  const interval = h("select", { name: "interval" }, INTERVALS.map((i) => h("option", { value: i, selected: i === "1h" }, i)));
  const today = new Date().toISOString().slice(0, 10);
  const start = h("input", { type: "date", name: "start", value: "2024-01-01", required: true });
  const end = h("input", { type: "date", name: "end", value: today, required: true });
  const cash = h("input", { type: "number", name: "cash", value: "10000", min: "1", step: "any", required: true });
  const fee = h("input", { type: "number", name: "fee_bps", value: "10", min: "0", max: "1000", step: "any" });
  const slip = h("input", { type: "number", name: "slippage_bps", value: "0", min: "0", max: "1000", step: "any" });
  const fields = h(
    "div",
    { class: "grid" },
    field("Symbol", symbol),
    field("Interval", interval),
    field("Start", start),
    field("End", end),
    field("Cash", cash),
    field("Fees (bps)", fee),
    field("Slippage (bps)", slip),
  );
  return {
    strategies,
    picker,
    selected: () => strategies.find((s) => s.id === picker.value),
    fields,
    spec: () => ({
      strategy: picker.value,
      symbols: [symbol.value],
      interval: interval.value,
      start: `${start.value}T00:00:00Z`,
      end: `${end.value}T00:00:00Z`,
      cash: cash.value,
      fee_bps: Number(fee.value),
      slippage_bps: Number(slip.value),
    }),
  };
}
