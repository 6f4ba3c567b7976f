// Live and paper trading: your deployments (stop one), a form to start one, and an account's
// portfolio, kill switch and risk rejections (account.ts).

import { ApiError, request } from "./api";
import { accountBox, closeAccount } from "./account";
import { onLeave } from "./router";
import { fmtTime, h, link } from "./dom";
import { field } from "./runspec";
import type { Strategy } from "./strategies";
import { paramInput } from "./submit";

interface Deployment {
  id: string;
  account: string;
  strategy: string;
  version: number | null;
  params: Record<string, unknown>;
  symbols: string[];
  interval: string;
  venue: string;
  status: string;
  created_at: string;
  stopped_at: string | null;
}

const INTERVALS = ["1m", "5m", "15m", "30m", "1h", "4h", "1d"];

function startForm(strategies: Strategy[], symbols: string[], onStarted: () => Promise<void>): HTMLElement {
  const picker = h("select", { name: "strategy" }, strategies.map((s) => h("option", { value: s.id }, s.builtin ? s.name : `${s.name} (uploaded)`)));
  const params = h("div", { class: "grid", id: "deploy-params" });
  const drawParams = () => {
    const s = strategies.find((x) => x.id === picker.value);
    params.replaceChildren(...(s?.parameters ?? []).map((p) => field(p.name, paramInput(p))));
  };
  picker.addEventListener("change", drawParams);
  drawParams();
  const account = h("input", { name: "account", required: true, pattern: "[A-Za-z0-9_.\\-]{1,64}", placeholder: "paper-1" });
  const symbol = h("select", { name: "deploy-symbol" }, symbols.map((s) => h("option", { value: s }, s)));
  const interval = h("select", { name: "deploy-interval" }, INTERVALS.map((i) => h("option", { value: i, selected: i === "1m" }, i)));
  const venue = h("select", { name: "venue" }, h("option", { value: "paper" }, "paper"), h("option", { value: "binance" }, "binance (real orders)"));
  const error = h("p", { class: "error", id: "deploy-error" });
  const submit = async (ev: Event) => {
    ev.preventDefault();
    error.textContent = "";
    const values: Record<string, number | boolean> = {};
    for (const input of params.querySelectorAll("input")) values[input.name] = input.type === "checkbox" ? input.checked : Number(input.value);
    try {
      await request("/deployments", { method: "POST", json: { account: account.value, strategy: picker.value, params: values, symbols: [symbol.value], interval: interval.value, venue: venue.value } });
      await onStarted();
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
    }
  };
  return h("form", { class: "card", id: "deploy-form", onsubmit: submit },
    h("h3", {}, "Start a deployment"),
    h("div", { class: "grid" }, field("Account", account), field("Strategy", picker), field("Symbol", symbol), field("Interval", interval), field("Venue", venue)),
    params,
    h("button", { type: "submit" }, "Start"),
    error);
}

export async function livePage(root: HTMLElement): Promise<void> {
  const [strategies, symbols, portfolios] = await Promise.all([
    request<Strategy[]>("/strategies"),
    request<{ symbol: string }[]>("/symbols?status=TRADING&limit=500"),
    request<{ account: string }[]>("/portfolio"),
  ]);
  onLeave(closeAccount);
  const runnable = strategies.filter((s) => s.builtin || s.versions.at(-1)?.check.status === "valid");
  const table = h("table", { id: "deployments" });
  const account = h("div", { id: "account" });
  const show = (name: string) => accountBox(account, name);
  const draw = async () => {
    const deployments = await request<Deployment[]>("/deployments");
    table.replaceChildren(
      h("thead", {}, h("tr", {}, ["Started", "Account", "Strategy", "Params", "Symbols", "Venue", "Status", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, deployments.map((d) =>
        h("tr", { "data-deployment": d.id },
          h("td", {}, fmtTime(d.created_at)),
          h("td", {}, h("a", { href: "#account", class: "account-link", onclick: (ev: Event) => { ev.preventDefault(); void show(d.account); } }, d.account)),
          h("td", {}, d.strategy + (d.version ? ` v${d.version}` : "")),
          h("td", {}, Object.entries(d.params).map(([k, v]) => `${k}=${v}`).join(" ")),
          h("td", {}, `${d.symbols.join(", ")} ${d.interval}`),
          h("td", {}, d.venue),
          h("td", { class: d.status === "running" ? "check-valid" : "muted" }, d.status === "stopped" && d.stopped_at ? `stopped ${fmtTime(d.stopped_at)}` : d.status),
          h("td", {}, d.status === "running" && h("button", { class: "stop", onclick: async () => { await request(`/deployments/${d.id}/stop`, { method: "POST" }); await draw(); } }, "Stop"),
            " ", link(`/live/deployments/${d.id}/divergence`, "Divergence")),
        ))),
    );
  };
  await draw();
  root.append(
    h("h2", {}, "Live"),
    table,
    startForm(runnable, symbols.map((s) => s.symbol), draw),
    h("p", { id: "accounts" }, "Accounts: ", portfolios.length ? portfolios.map((p) => h("button", { class: "account", onclick: () => show(p.account) }, p.account)) : h("span", { class: "muted" }, "none with a portfolio yet")),
    account,
  );
}
