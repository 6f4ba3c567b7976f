// Your uploaded strategies (with their latest check), and the upload form: a .py file read in
// the browser and sent as POST /strategies {name, code}.

import { ApiError, request } from "./api";
import { fmtTime, h, link } from "./dom";
import { navigate } from "./router";

export interface Check {
  status: "pending" | "checking" | "valid" | "invalid";
  description?: { name?: string; description?: string; parameters?: Param[] } | null;
  error?: string | null;
  checked_at?: string | null;
}
export interface Param {
  name: string;
  type: string;
  default: number | boolean;
  min: number | boolean;
  max: number | boolean;
  step: number | null;
  description: string;
}
export interface Version {
  version: number;
  sha256: string;
  created_at: string;
  check: Check;
}
export interface Strategy {
  id: string;
  name: string;
  builtin: boolean;
  description: string | null;
  parameters: Param[] | null;
  latest_version: number | null;
  versions: Version[];
  created_at: string | null;
  code?: string | null;
}

/** The file's text and a name from its file name (my_cross.py -> my_cross). */
async function readUpload(input: HTMLInputElement): Promise<{ name: string; code: string }> {
  const file = input.files?.[0];
  if (!file) throw new Error("choose a .py file first");
  return { name: file.name.replace(/\.py$/, ""), code: await file.text() };
}

/** The upload form: `onCode(name, code)` stores it (a new strategy or a new version). */
export function uploadForm(id: string, label: string, onCode: (name: string, code: string) => Promise<void>, withName = true): HTMLElement {
  const file = h("input", { type: "file", name: "file", accept: ".py,text/x-python", required: true });
  const name = h("input", { type: "text", name: "name", placeholder: "from the file name", maxlength: 80 });
  const error = h("p", { class: "error" });
  file.addEventListener("change", () => {
    if (!name.value && file.files?.[0]) name.value = file.files[0].name.replace(/\.py$/, "");
  });
  const submit = async (ev: Event) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      const upload = await readUpload(file);
      await onCode(name.value.trim() || upload.name, upload.code);
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err instanceof Error ? err.message : err);
    }
  };
  return h(
    "form",
    { class: "card", id, onsubmit: submit },
    h("h3", {}, label),
    h("div", { class: "grid" }, h("label", {}, "Python file", file), withName && h("label", {}, "Name", name)),
    h("button", { type: "submit" }, "Upload"),
    error,
  );
}

export async function strategiesPage(root: HTMLElement): Promise<void> {
  const uploads = (await request<Strategy[]>("/strategies")).filter((s) => !s.builtin);
  const rows = uploads.map((s) => {
    const latest = s.versions.at(-1);
    return h(
      "tr",
      {},
      h("td", {}, link(`/strategies/${s.id}`, s.name)),
      h("td", {}, `v${s.latest_version ?? "?"}`),
      h("td", { class: `check-${latest?.check.status}` }, latest?.check.status ?? "–"),
      h("td", {}, (latest?.check.description?.parameters ?? []).map((p) => p.name).join(", ") || "–"),
      h("td", {}, s.created_at ? fmtTime(s.created_at) : "–"),
    );
  });
  const table = h(
    "table",
    { id: "strategies" },
    h("thead", {}, h("tr", {}, ["Name", "Latest", "Check", "Parameters", "Uploaded"].map((c) => h("th", {}, c)))),
    h("tbody", {}, rows),
  );
  root.append(
    h("h2", {}, "Strategies"),
    uploadForm("upload-form", "Upload a strategy", async (name, code) => {
      const s = await request<Strategy>("/strategies", { method: "POST", json: { name, code } });
      navigate(`/strategies/${s.id}`);
    }),
    h("h3", {}, "Your uploads"),
    uploads.length ? table : h("p", {}, "No uploads yet."),
    h("p", { class: "muted" }, "Built-in strategies: ", link("/backtests/new", "run one"), " from the backtest form."),
  );
}
