// The dashboard's shell: a history-API router over a few pages, and the top bar.

import { ApiError, session, signOut, SignedOut } from "./api";
import { divergencePage } from "./divergence";
import { h, link } from "./dom";
import { listPage } from "./list";
import { livePage } from "./live";
import { loginPage } from "./login";
import { leave, navigate } from "./router";
import { resultPage } from "./result";
import { optimizationPage } from "./optimization";
import { newOptimizationPage, optimizationsPage } from "./optimize";
import { strategiesPage } from "./strategies";
import { strategyPage } from "./strategy";
import { submitPage } from "./submit";
import { usersPage } from "./users";
import "./style.css";

type Page = (root: HTMLElement, ...args: string[]) => Promise<void>;
const ROUTES: [RegExp, Page][] = [
  [/^\/login$/, async (root) => loginPage(root, () => navigate("/backtests"))],
  [/^\/(backtests)?$/, listPage],
  [/^\/backtests\/new$/, submitPage],
  [/^\/backtests\/([^/]+)$/, resultPage],
  [/^\/strategies$/, strategiesPage],
  [/^\/optimizations$/, optimizationsPage],
  [/^\/optimizations\/new$/, newOptimizationPage],
  [/^\/optimizations\/([^/]+)$/, optimizationPage],
  [/^\/admin\/users$/, usersPage],
  [/^\/live$/, livePage],
  [/^\/live\/deployments\/([^/]+)\/divergence$/, divergencePage],
  [/^\/strategies\/([^/]+)$/, strategyPage],
];


function topBar(): HTMLElement {
  const s = session();
  return h(
    "header",
    {},
    h("strong", {}, "Kwont"),
    s && link("/backtests", "Backtests"),
    s && link("/backtests/new", "New backtest"),
    s && link("/strategies", "Strategies"),
    s && link("/optimizations", "Grid searches"),
    s && link("/live", "Live"),
    s?.role === "admin" && link("/admin/users", "Users"),
    h("span", { class: "spacer" }),
    s && h("span", { id: "whoami" }, s.username),
    s &&
      h(
        "button",
        {
          id: "sign-out",
          onclick: async () => {
            await signOut();
            navigate("/login");
          },
        },
        "Sign out",
      ),
  );
}

async function render(): Promise<void> {
  leave();
  const app = document.getElementById("app")!;
  const path = location.pathname;
  if (!session() && path !== "/login") {
    history.replaceState(null, "", "/login");
    return render(); // the address is /login now
  }
  const main = h("main");
  app.replaceChildren(topBar(), main);
  const route = ROUTES.find(([re]) => re.test(path));
  if (!route) {
    main.append(h("p", {}, "No such page. "), link("/backtests", "Back to the backtests"));
    return;
  }
  try {
    await route[1](main, ...(path.match(route[0])!.slice(1) as string[]));
  } catch (err) {
    if (err instanceof SignedOut) return navigate("/login");
    const message = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
    main.append(h("p", { class: "error" }, message));
  }
}

document.addEventListener("click", (ev) => {
  const a = (ev.target as HTMLElement).closest("a[data-link]");
  if (a && !ev.ctrlKey && !ev.metaKey) {
    ev.preventDefault();
    navigate(a.getAttribute("href")!);
  }
});
// Failures after a page is drawn (paging, downloads): sign in again, or say what failed.
window.addEventListener("unhandledrejection", (ev) => {
  if (ev.reason instanceof SignedOut) return navigate("/login");
  const message = ev.reason instanceof ApiError ? `${ev.reason.code}: ${ev.reason.message}` : String(ev.reason);
  document.querySelector("main")?.prepend(h("p", { class: "error" }, message));
});
window.addEventListener("popstate", () => void render());
void render();
