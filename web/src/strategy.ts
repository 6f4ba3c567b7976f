// One uploaded strategy: its versions and their checks (polled until valid or invalid), the
// source read-only and highlighted with a failed check's line marked, its declared
// parameters, a new version upload and a backtest of it.

import { request } from "./api";
import { fmtTime, h, link } from "./dom";
import { errorLine, sourceView } from "./highlight";
import { onLeave } from "./router";
import { uploadForm, type Param, type Strategy, type Version } from "./strategies";

const POLL_MS = 1000;
const settled = (v: Version | undefined) => v?.check.status === "valid" || v?.check.status === "invalid";

interface VersionSource extends Version {
  code: string;
}

function versionsTable(s: Strategy, show: (v: number) => void): HTMLElement {
  return h(
    "table",
    { id: "versions" },
    h("thead", {}, h("tr", {}, ["Version", "Check", "Checked", "Uploaded", "sha256", ""].map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      [...s.versions].reverse().map((v) =>
        h(
          "tr",
          {},
          h("td", {}, `v${v.version}`),
          h("td", { class: `check-${v.check.status}` }, v.check.status),
          h("td", {}, v.check.checked_at ? fmtTime(v.check.checked_at) : "–"),
          h("td", {}, fmtTime(v.created_at)),
          h("td", { class: "muted" }, v.sha256.slice(0, 12)),
          h("td", {}, h("button", { class: "show-version", "data-version": v.version, onclick: () => show(v.version) }, "Source")),
        ),
      ),
    ),
  );
}

function paramsTable(params: Param[]): HTMLElement {
  return h(
    "table",
    { id: "declared-params", class: "metrics" },
    h("thead", {}, h("tr", {}, ["Parameter", "Type", "Default", "Range", "Description"].map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      params.map((p) =>
        h("tr", {}, h("td", {}, p.name), h("td", {}, p.type), h("td", {}, String(p.default)),
          h("td", {}, p.type === "bool" ? "–" : `${p.min}..${p.max}${p.step ? ` by ${p.step}` : ""}`), h("td", {}, p.description)),
      ),
    ),
  );
}

function checkBox(id: string, v: Version | undefined): HTMLElement {
  const box = h("div", { id: "check" });
  if (!v) return box;
  const c = v.check;
  box.append(h("p", {}, `v${v.version}: `, h("strong", { id: "check-status", class: `check-${c.status}` }, c.status)));
  if (c.status === "pending" || c.status === "checking") {
    box.append(h("p", { class: "muted" }, "A backtest-runner loads it in its sandbox; this page updates by itself."));
  } else if (c.status === "invalid") {
    box.append(h("pre", { class: "error", id: "check-error" }, c.error ?? "invalid"));
  } else {
    const d = c.description ?? {};
    if (d.description) box.append(h("p", {}, d.description));
    box.append(h("h3", {}, "Declared parameters"), d.parameters?.length ? paramsTable(d.parameters) : h("p", {}, "None."));
    box.append(h("p", {}, link(`/backtests/new?strategy=${encodeURIComponent(id)}`, "Run a backtest of it")));
  }
  return box;
}

export async function strategyPage(root: HTMLElement, id: string): Promise<void> {
  let timer = 0;
  onLeave(() => clearTimeout(timer));
  const body = h("div");
  const source = h("div", { id: "source-box" });
  const drawSource = (v: Version | undefined, code: string, latest: boolean) => {
    const mark = v?.check.status === "invalid" ? errorLine(v.check.error ?? "") : null;
    source.replaceChildren(
      h("h3", { id: "source-title" }, latest ? "Source (latest version)" : `Source (v${v?.version}, an older version)`),
      sourceView(code, mark ?? undefined),
    );
    if (!latest && !mark && v?.check.status === "invalid") source.append(h("pre", { class: "error" }, v.check.error ?? "invalid"));
  };
  // An older version's source comes from /strategies/{id}/versions/{n}; the latest is in the strategy.
  const show = async (n: number, s: Strategy) => {
    if (n === s.latest_version) return drawSource(s.versions.at(-1), s.code ?? "", true);
    const v = await request<VersionSource>(`/strategies/${id}/versions/${n}`);
    drawSource(v, v.code, false);
  };
  const draw = (s: Strategy) => {
    const latest = s.versions.at(-1);
    drawSource(latest, s.code ?? "", true);
    body.replaceChildren(
      h("h2", {}, s.name, " ", h("span", { class: "muted" }, `v${s.latest_version}`)),
      checkBox(id, latest),
      source,
      h("h3", {}, "Versions"),
      versionsTable(s, (n) => void show(n, s)),
    );
  };
  const load = async () => {
    const s = await request<Strategy>(`/strategies/${id}`);
    draw(s);
    if (!settled(s.versions.at(-1))) timer = window.setTimeout(() => void load(), POLL_MS);
  };
  root.append(
    body,
    uploadForm("version-form", "Upload a new version", async (_name, code) => {
      clearTimeout(timer);
      await request<Strategy>(`/strategies/${id}`, { method: "PUT", json: { code } });
      await load();
    }, false),
  );
  await load();
}
