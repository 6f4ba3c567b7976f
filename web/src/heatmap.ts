// The score over two parameters as a CSS grid: one cell per (x, y) pair, coloured from the
// worst score (red) to the best (green); a pair with several rows (other parameters varied)
// shows its best. Cells without a finite score stay grey.

import { fmtNum, h } from "./dom";

type Row = { params: Record<string, unknown>; score: number | null };

const sortValues = (xs: unknown[]) =>
  [...new Set(xs.map(String))].sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b));

function colour(t: number): string {
  return `hsl(${Math.round(t * 120)}, 65%, ${52 - Math.round(t * 10)}%)`; // 0 red .. 1 green
}

export function heatmap(rows: Row[], x: string, y: string): HTMLElement {
  const xs = sortValues(rows.map((r) => r.params[x]));
  const ys = sortValues(rows.map((r) => r.params[y])).reverse(); // largest on top
  const best = new Map<string, number>();
  for (const r of rows) {
    if (r.score === null || !Number.isFinite(r.score)) continue;
    const key = `${r.params[x]}|${r.params[y]}`;
    best.set(key, Math.max(best.get(key) ?? -Infinity, r.score));
  }
  const scores = [...best.values()];
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  const cells: HTMLElement[] = [];
  for (const yv of ys) {
    cells.push(h("div", { class: "hm-label" }, yv));
    for (const xv of xs) {
      const s = best.get(`${xv}|${yv}`);
      const style = s === undefined ? "" : `background:${colour(hi > lo ? (s - lo) / (hi - lo) : 1)}`;
      cells.push(h("div", { class: "hm-cell", style, title: `${x}=${xv} ${y}=${yv}: ${s ?? "no score"}`, "data-x": xv, "data-y": yv }, s === undefined ? "–" : fmtNum(s, 2)));
    }
  }
  cells.push(h("div", { class: "hm-label" }, `${y} ↑ / ${x} →`), ...xs.map((xv) => h("div", { class: "hm-label" }, xv)));
  return h("div", { class: "heatmap", id: "heatmap", style: `grid-template-columns: auto repeat(${xs.length}, minmax(2.6rem, 1fr))` }, cells);
}
