import { ApiError, signIn } from "./api";
import { h } from "./dom";

export function loginPage(root: HTMLElement, done: () => void): void {
  const error = h("p", { class: "error" });
  const user = h("input", { name: "username", autocomplete: "username", required: true });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h(
    "form",
    {
      class: "card narrow",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        error.textContent = "";
        try {
          await signIn(user.value, pass.value);
          done();
        } catch (err) {
          error.textContent = err instanceof ApiError ? err.message : String(err);
        }
      },
    },
    h("h2", {}, "Sign in"),
    h("label", {}, "Username", user),
    h("label", {}, "Password", pass),
    h("button", { type: "submit" }, "Sign in"),
    error,
  );
  root.append(form);
}
