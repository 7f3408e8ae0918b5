import type { FastifyInstance } from 'fastify';

/** One route as registered: what the tenant-scope test walks, so a new route cannot be left out. */
export interface RegisteredRoute {
  method: string;
  url: string;
  /** A portal session may call it (auth.ts `tenantScoped`). */
  tenantScoped: boolean;
  /** No key needed (config `public`): the same answer for everyone. */
  public: boolean;
}

const registered = new WeakMap<object, RegisteredRoute[]>();

/** Records every route registered on `app` from now on (call before the routes are added). */
export function recordRoutes(app: FastifyInstance): void {
  const routes: RegisteredRoute[] = [];
  registered.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of ([] as string[]).concat(route.method)) {
      const config = route.config as { tenantScoped?: boolean; public?: boolean } | undefined;
      routes.push({
        method,
        url: route.url,
        tenantScoped: config?.tenantScoped === true,
        public: config?.public === true,
      });
    }
  });
}

/** The routes of an API built by buildApi. */
export function registeredRoutes(app: FastifyInstance): readonly RegisteredRoute[] {
  return registered.get(app) ?? [];
}
