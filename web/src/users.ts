// The admin's users page: every user with their role (changed in place) and a disable/enable
// button, and a form to create one. Other roles get the gateway's 403 message.

import { ApiError, request, session } from "./api";
import { fmtTime, h } from "./dom";

interface User {
  id: string;
  username: string;
  role: string;
  disabled: boolean;
  created_at: string;
}

const ROLES = ["admin", "trader", "viewer"];

export async function usersPage(root: HTMLElement): Promise<void> {
  if (session()?.role !== "admin") {
    root.append(h("p", { class: "error" }, "Only an admin may manage users."));
    return;
  }
  const error = h("p", { class: "error", id: "users-error" });
  const table = h("table", { id: "users" });
  // Every change answers the changed user: redraw from the list so the page is what is stored.
  const act = async (fn: () => Promise<unknown>) => {
    error.textContent = "";
    try {
      await fn();
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
    }
    await draw();
  };
  const patch = (id: string, json: object) => act(() => request(`/users/${id}`, { method: "PATCH", json }));
  const draw = async () => {
    const users = await request<User[]>("/users");
    const me = session()?.username;
    table.replaceChildren(
      h("thead", {}, h("tr", {}, ["User", "Role", "State", "Created", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, users.map((u) =>
        h("tr", { "data-user": u.username },
          h("td", {}, u.username, u.username === me ? h("span", { class: "muted" }, " (you)") : ""),
          h("td", {}, h("select", { name: "role", onchange: (ev: Event) => patch(u.id, { role: (ev.target as HTMLSelectElement).value }) },
            ROLES.map((r) => h("option", { value: r, selected: r === u.role }, r)))),
          h("td", { class: u.disabled ? "check-invalid" : "check-valid" }, u.disabled ? "disabled" : "active"),
          h("td", {}, fmtTime(u.created_at)),
          h("td", {}, h("button", { class: "toggle", onclick: () => patch(u.id, { disabled: !u.disabled }) }, u.disabled ? "Enable" : "Disable")),
        ),
      )),
    );
  };
  const username = h("input", { name: "new-username", required: true, pattern: "[a-zA-Z0-9_.\\-]{3,40}" });
  const password = h("input", { name: "new-password", type: "password", required: true, minlength: 10 });
  const role = h("select", { name: "new-role" }, ROLES.map((r) => h("option", { value: r, selected: r === "trader" }, r)));
  const create = (ev: Event) => {
    ev.preventDefault();
    void act(async () => {
      await request("/users", { method: "POST", json: { username: username.value, password: password.value, role: role.value } });
      username.value = password.value = "";
    });
  };
  await draw();
  root.append(
    h("h2", {}, "Users"),
    error,
    table,
    h("form", { class: "card", id: "new-user", onsubmit: create },
      h("h3", {}, "New user"),
      h("div", { class: "grid" },
        h("label", {}, "Username", username),
        h("label", {}, "Password", password, h("small", {}, "10 characters or more")),
        h("label", {}, "Role", role)),
      h("button", { type: "submit" }, "Create")),
  );
}
