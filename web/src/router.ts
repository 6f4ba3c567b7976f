// Navigation without a page load; the shell (main.ts) renders on "popstate".

let leaving: (() => void) | null = null;

export function navigate(path: string): void {
  history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

/** A page registers what to stop (sockets, charts) when the user leaves it. */
export function onLeave(fn: () => void): void {
  leaving = fn;
}

export function leave(): void {
  leaving?.();
  leaving = null;
}
