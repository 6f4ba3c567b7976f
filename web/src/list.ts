// Past backtests with their headline metrics (one GraphQL query), sortable by any column.

import { graphql } from "./api";
import { fmtNum, fmtPct, fmtTime, h, link } from "./dom";

interface Row {
  id: string;
  status: string;
  fraction: number;
  strategyName: string;
  symbols: string[];
  interval: string;
  submittedAt: string;
  result: { metrics: Record<string, number>; tradeCount: number; finalEquity: string | null } | null;
}

const QUERY = `query { backtests(limit: 200) { id status fraction strategyName symbols interval
  submittedAt result { metrics tradeCount finalEquity } } }`;

type Column = [label: string, value: (r: Row) => string | number, show: (r: Row) => string];
const metric = (name: string) => (r: Row) => r.result?.metrics?.[name] ?? Number.NEGATIVE_INFINITY;
const COLUMNS: Column[] = [
  ["Submitted", (r) => r.submittedAt, (r) => fmtTime(r.submittedAt)],
  ["Strategy", (r) => r.strategyName, (r) => r.strategyName],
  ["Symbols", (r) => r.symbols.join(","), (r) => r.symbols.join(", ")],
  ["Interval", (r) => r.interval, (r) => r.interval],
  ["Status", (r) => r.status, (r) => (r.status === "running" ? `running ${fmtPct(r.fraction)}` : r.status)],
  ["Return", metric("total_return"), (r) => fmtPct(r.result?.metrics?.total_return)],
  ["Sharpe", metric("sharpe"), (r) => fmtNum(r.result?.metrics?.sharpe)],
  ["Max drawdown", metric("max_drawdown"), (r) => fmtPct(r.result?.metrics?.max_drawdown)],
  ["Trades", (r) => r.result?.tradeCount ?? -1, (r) => (r.result ? String(r.result.tradeCount) : "–")],
  ["Final equity", (r) => Number(r.result?.finalEquity ?? -1), (r) => r.result?.finalEquity ?? "–"],
];

export async function listPage(root: HTMLElement): Promise<void> {
  const rows = (await graphql<{ backtests: Row[] }>(QUERY)).backtests;
  let sortBy = 0;
  let descending = true;
  const table = h("table", { id: "backtests" });
  const draw = () => {
    const sorted = [...rows].sort((a, b) => {
      const x = COLUMNS[sortBy][1](a);
      const y = COLUMNS[sortBy][1](b);
      return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
    });
    const head = COLUMNS.map(([label], i) =>
      h(
        "th",
        {
          class: "sortable",
          onclick: () => {
            descending = sortBy === i ? !descending : true;
            sortBy = i;
            draw();
          },
        },
        label + (i === sortBy ? (descending ? " ▼" : " ▲") : ""),
      ),
    );
    const body = sorted.map((r) =>
      h("tr", {}, COLUMNS.map(([, , show], i) => h("td", {}, i === 0 ? link(`/backtests/${r.id}`, show(r)) : show(r)))),
    );
    table.replaceChildren(h("thead", {}, h("tr", {}, head)), h("tbody", {}, body));
  };
  draw();
  root.append(
    h("h2", {}, "Backtests ", link("/backtests/new", "+ new")),
    rows.length ? table : h("p", {}, "No backtests yet."),
  );
}
