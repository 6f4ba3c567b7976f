// The result page's two charts (lightweight-charts): equity with its drawdown in a pane
// beneath, and the symbol's candles with the trades' entries and exits as markers.

import {
  AreaSeries,
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  LineSeries,
  type IChartApi,
  type SeriesMarker,
  type UTCTimestamp,
} from "lightweight-charts";

export type Trade = Record<string, unknown>;
const OPTIONS = { autoSize: true, timeScale: { timeVisible: true }, layout: { attributionLogo: false } };

const sec = (ms: number) => Math.floor(ms / 1000) as UTCTimestamp;

/** Epoch ms of a trade's entry or exit (`*_time_ms`, else `*_time` as ms or ISO). */
export function tradeTime(t: Trade, which: "entry" | "exit"): number {
  const ms = t[`${which}_time_ms`];
  if (typeof ms === "number") return ms;
  const raw = t[`${which}_time`];
  return typeof raw === "number" ? raw : Date.parse(String(raw));
}

/** Equity line, and beneath it the drawdown from the running peak (0 to -100%). */
export function equityChart(el: HTMLElement, points: number[][]): IChartApi {
  const chart = createChart(el, OPTIONS);
  const equity: { time: UTCTimestamp; value: number }[] = [];
  const drawdown: { time: UTCTimestamp; value: number }[] = [];
  let peak = Number.NEGATIVE_INFINITY;
  for (const [ms, value] of points) {
    const time = sec(ms);
    if (equity.length && time <= equity[equity.length - 1].time) continue; // strictly ascending
    peak = Math.max(peak, value);
    equity.push({ time, value });
    drawdown.push({ time, value: peak > 0 ? (value / peak - 1) * 100 : 0 });
  }
  chart.addSeries(LineSeries, { color: "#2962ff", lineWidth: 2, title: "equity" }).setData(equity);
  const dd = chart.addSeries(
    AreaSeries,
    { lineColor: "#d32f2f", topColor: "rgba(211,47,47,0.1)", bottomColor: "rgba(211,47,47,0.4)", title: "drawdown %" },
    1,
  );
  dd.setData(drawdown);
  chart.panes()[1]?.setHeight(110);
  chart.timeScale().fitContent();
  return chart;
}

/** Candles ([t, o, h, l, c, v] rows) with a marker at every entry and exit, each placed on
 * the bar that holds it. */
export function candleChart(el: HTMLElement, rows: number[][], trades: Trade[]): IChartApi {
  const chart = createChart(el, OPTIONS);
  const series = chart.addSeries(CandlestickSeries, {
    upColor: "#26a69a", downColor: "#ef5350", wickUpColor: "#26a69a", wickDownColor: "#ef5350", borderVisible: false,
  });
  const bars = rows.map(([t, open, high, low, close]) => ({ time: sec(t), open, high, low, close }));
  series.setData(bars);
  const opens = rows.map((r) => r[0]);
  const barOf = (ms: number) => {
    let lo = 0;
    let hi = opens.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (opens[mid] <= ms) lo = mid;
      else hi = mid - 1;
    }
    return bars[lo]?.time;
  };
  const markers: SeriesMarker<UTCTimestamp>[] = [];
  for (const t of trades) {
    const long = t.side !== "short";
    const entry = barOf(tradeTime(t, "entry"));
    const exit = barOf(tradeTime(t, "exit"));
    if (entry === undefined || exit === undefined) continue;
    markers.push({ time: entry, position: long ? "belowBar" : "aboveBar", color: long ? "#2e7d32" : "#c62828", shape: long ? "arrowUp" : "arrowDown", text: long ? "L" : "S" });
    markers.push({ time: exit, position: long ? "aboveBar" : "belowBar", color: "#555", shape: "circle", text: "x" });
  }
  markers.sort((a, b) => a.time - b.time);
  createSeriesMarkers(series, markers);
  chart.timeScale().fitContent();
  return chart;
}

/** An account's equity line that grows as snapshots arrive: `add(ms, value)`. */
export function liveEquityChart(el: HTMLElement, points: number[][]): { chart: IChartApi; add: (ms: number, value: number) => void } {
  const chart = createChart(el, OPTIONS);
  const series = chart.addSeries(LineSeries, { color: "#2962ff", lineWidth: 2, title: "equity" });
  let last = -1;
  const data: { time: UTCTimestamp; value: number }[] = [];
  for (const [ms, value] of points) {
    const time = sec(ms);
    if (time <= last) continue;
    data.push({ time, value });
    last = time;
  }
  series.setData(data);
  chart.timeScale().fitContent();
  const add = (ms: number, value: number) => {
    const time = sec(ms);
    if (time < last) return; // an older snapshot than the curve's end: the curve has it
    series.update({ time, value });
    last = time;
  };
  return { chart, add };
}
