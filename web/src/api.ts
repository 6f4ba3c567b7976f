// The gateway's token flow: a 15-minute access token and a single-use refresh token, kept
// per tab (sessionStorage: two tabs sharing one refresh token would each present it, and a
// reused refresh token revokes them all, docs/api.md "Auth design").

const API = "/api/v1";
const KEY = "kwont.session";
const EARLY_MS = 30_000; // refresh this long before the access token expires

interface Session {
  access: string;
  refresh: string;
  expiresAt: number;
  username: string;
  role: string;
}

interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  role: string;
}

/** The gateway's error shape, `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** No valid session: the user must sign in. */
export class SignedOut extends Error {}

export function session(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as Session) : null;
}

function keep(t: TokenAnswer, username: string): void {
  const s: Session = {
    access: t.access_token,
    refresh: t.refresh_token,
    expiresAt: Date.now() + t.expires_in * 1000,
    username,
    role: t.role,
  };
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

async function failure(r: Response): Promise<ApiError> {
  try {
    const body = await r.json();
    return new ApiError(r.status, body.error?.code ?? "error", body.error?.message ?? r.statusText);
  } catch {
    return new ApiError(r.status, "error", r.statusText);
  }
}

export async function signIn(username: string, password: string): Promise<void> {
  const r = await fetch(`${API}/auth/token`, {
    method: "POST",
    body: new URLSearchParams({ username, password }),
  });
  if (!r.ok) throw await failure(r);
  keep(await r.json(), username);
}

export async function signOut(): Promise<void> {
  const s = session();
  if (s) {
    try {
      await request("/auth/logout", { method: "POST", json: { refresh_token: s.refresh } });
    } catch {
      // signing out locally is what matters; the refresh token expires anyway
    }
  }
  sessionStorage.removeItem(KEY);
}

let refreshing: Promise<void> | null = null;

/** One refresh at a time: concurrent callers share it (the token is single use). */
function refresh(): Promise<void> {
  refreshing ??= (async () => {
    const s = session();
    if (!s) throw new SignedOut();
    const r = await fetch(`${API}/auth/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: s.refresh }),
    });
    if (!r.ok) {
      sessionStorage.removeItem(KEY);
      throw new SignedOut();
    }
    keep(await r.json(), s.username);
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** A valid access token, refreshed first when it is about to expire. */
export async function accessToken(): Promise<string> {
  const s = session();
  if (!s) throw new SignedOut();
  if (Date.now() > s.expiresAt - EARLY_MS) await refresh();
  return session()!.access;
}

interface Options {
  method?: string;
  json?: unknown;
}

/** Call `/api/v1<path>`; on a 401 refresh once and retry. */
export async function request<T>(path: string, opts: Options = {}): Promise<T> {
  const send = async () =>
    fetch(path.startsWith("/graphql") ? path : `${API}${path}`, {
      method: opts.method ?? "GET",
      headers: {
        Authorization: `Bearer ${await accessToken()}`,
        ...(opts.json === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
    });
  let r = await send();
  if (r.status === 401) {
    await refresh();
    r = await send();
  }
  if (r.status === 401) throw new SignedOut();
  if (!r.ok) throw await failure(r);
  return (r.status === 204 ? undefined : await r.json()) as T;
}

/** A GraphQL query (one round trip for the list page's backtests and their metrics). */
export async function graphql<T>(query: string, variables: object = {}): Promise<T> {
  const body = await request<{ data?: T; errors?: { message: string }[] }>("/graphql", {
    method: "POST",
    json: { query, variables },
  });
  if (body.errors?.length) throw new ApiError(200, "graphql", body.errors[0].message);
  return body.data as T;
}

/** The WebSocket URL of a path, authenticated by query parameter (browsers cannot set
 * headers on a WebSocket). */
export async function socketUrl(path: string): Promise<string> {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${path}?access_token=${encodeURIComponent(await accessToken())}`;
}
