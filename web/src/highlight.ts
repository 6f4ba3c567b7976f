// A read-only Python source view: line numbers, keywords, strings, comments and numbers
// coloured, one line marked with a message (a failed check's). A few regexes rather than a
// highlighter package: the bundle stays small and uploads are short files.

import { h } from "./dom";

const KEYWORDS = new Set(
  ("False None True and as assert async await break class continue def del elif else except " +
    "finally for from global if import in is lambda nonlocal not or pass raise return try " +
    "while with yield self").split(" "),
);
// One token per match: a comment, a string (triple-quoted strings are cut at the line's end,
// which only colours their later lines as code), a number or a word.
const TOKEN = /(#.*$)|([rbfu]*("""|'''|"|')(?:\\.|(?!\3).)*(?:\3)?)|(\b\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?\b)|([A-Za-z_]\w*)/gi;

function tokens(line: string): (Node | string)[] {
  const out: (Node | string)[] = [];
  let at = 0;
  for (const m of line.matchAll(TOKEN)) {
    if (m.index > at) out.push(line.slice(at, m.index));
    const [text] = m;
    if (m[1]) out.push(h("span", { class: "tok-comment" }, text));
    else if (m[2]) out.push(h("span", { class: "tok-string" }, text));
    else if (m[4]) out.push(h("span", { class: "tok-number" }, text));
    else if (KEYWORDS.has(text)) out.push(h("span", { class: "tok-keyword" }, text));
    else out.push(text);
    at = m.index + text.length;
  }
  if (at < line.length) out.push(line.slice(at));
  return out;
}

/** The source with numbered lines; `mark` (1-based) is outlined with `message` beneath. */
export function sourceView(code: string, mark?: { line: number; message: string }): HTMLElement {
  const rows = code.replace(/\n$/, "").split("\n").map((line, i) => {
    const n = i + 1;
    const marked = mark?.line === n;
    return [
      h("div", { class: marked ? "src-line marked" : "src-line", "data-line": n },
        h("span", { class: "src-no" }, String(n)), h("code", {}, ...tokens(line))),
      marked && h("div", { class: "src-message", id: "source-error" }, mark.message),
    ];
  });
  return h("pre", { class: "source", id: "source" }, rows.flat());
}

/** The line a Python error names in the uploaded file (the last frame in it), if any. */
export function errorLine(error: string): { line: number; message: string } | null {
  const lines = [...error.matchAll(/strategy\.py"?,? line (\d+)/g)];
  if (!lines.length) return null;
  const message = error.trim().split("\n").filter((l) => l.trim()).at(-1) ?? error;
  return { line: Number(lines.at(-1)![1]), message: message.trim() };
}
