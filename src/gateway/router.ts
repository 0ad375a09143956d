/**
 * HTTP routing from a table. Each route is a method and a path pattern (a trailing `:name`
 * segment captures the rest of the path), compiled once when the table is built, as Fastify
 * compiles its routes at registration. One table answers dispatch, the 405's `Allow` header and
 * the metric label, so the three cannot drift apart the way a hand-kept regex could.
 */

/** What the router needs of a route; the caller's table adds auth and a handler. */
export interface RoutePattern {
  method: string;
  path: string;
}

export type RouteMatch<R> =
  | { kind: "found"; route: R; params: Record<string, string> }
  | { kind: "wrong-method"; allow: string[] }
  | { kind: "none" };

/** Methods a metric label may carry (anything else is "other": label values stay bounded). */
const LABELLED_METHODS = new Set(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]);

interface Compiled<R> {
  route: R;
  /** The captured params, or null when the path is not this route's. */
  test(path: string): Record<string, string> | null;
}

function compile<R extends RoutePattern>(route: R): Compiled<R> {
  const { path } = route;
  if (!path.startsWith("/")) throw new Error(`route ${route.method} ${path}: expected a path starting with "/"`);
  const param = /^(.*\/):([A-Za-z]\w*)$/.exec(path);
  if (path.includes(":") && !param)
    throw new Error(`route ${route.method} ${path}: a :param may only be the last segment`);
  if (!param) return { route, test: (p) => (p === path ? {} : null) };
  const prefix = param[1] ?? "/";
  const name = param[2] ?? "param";
  // The rest of the path, as given (may be empty or hold slashes): each handler decides what it accepts.
  return { route, test: (p) => (p.startsWith(prefix) ? { [name]: p.slice(prefix.length) } : null) };
}

export class Router<R extends RoutePattern> {
  private readonly routes: ReadonlyArray<Compiled<R>>;

  constructor(routes: readonly R[]) {
    const seen = new Set<string>();
    for (const r of routes) {
      const id = `${r.method} ${r.path}`;
      if (seen.has(id)) throw new Error(`route ${id}: registered twice`);
      seen.add(id);
    }
    this.routes = routes.map(compile);
  }

  match(method: string, path: string): RouteMatch<R> {
    const allow: string[] = [];
    for (const c of this.routes) {
      const params = c.test(path);
      if (!params) continue;
      if (c.route.method === method) return { kind: "found", route: c.route, params };
      if (!allow.includes(c.route.method)) allow.push(c.route.method);
    }
    return allow.length > 0 ? { kind: "wrong-method", allow } : { kind: "none" };
  }

  /** `GET /v1/runs/:id`: the pattern a request falls under, or null when no route has its path. */
  patternOf(method: string, path: string): string | null {
    if (!LABELLED_METHODS.has(method)) return null;
    const c = this.routes.find((r) => r.test(path) !== null);
    return c ? `${method} ${c.route.path}` : null;
  }

  /** The metric label of a request: its pattern, or "other". */
  label(method: string, path: string): string {
    return this.patternOf(method, path) ?? "other";
  }
}
