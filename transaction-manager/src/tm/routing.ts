import picomatch from 'picomatch';
import type { RouteConfig } from './config.js';
import type { FileRef } from './files.js';

/** Matches received files against the routing rules, in their configured order. */
export class RoutingTable {
  readonly #rules: { route: RouteConfig; matches: (file: FileRef, source: string) => boolean }[];

  constructor(routes: readonly RouteConfig[]) {
    this.#rules = routes.map((route) => {
      const account = picomatch(route.account, { dot: true });
      const path = picomatch(route.path, { dot: true });
      const source = picomatch(route.source, { dot: true });
      return {
        route,
        // A host file (no account) matches only rules that do not name an account.
        matches: (file, from) => (file.account === null ? route.account === '*' : account(file.account)) && path(file.path) && source(from),
      };
    });
  }

  get size(): number {
    return this.#rules.length;
  }

  rule(name: string): RouteConfig | undefined {
    return this.#rules.find((rule) => rule.route.name === name)?.route;
  }

  /** The rules that take this file, up to and including the first `final` one. */
  match(file: FileRef, source: string): RouteConfig[] {
    const matched: RouteConfig[] = [];
    for (const { route, matches } of this.#rules) {
      if (!matches(file, source)) continue;
      matched.push(route);
      if (route.final) break;
    }
    return matched;
  }
}
