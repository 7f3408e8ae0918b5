import { BUILT_IN_EVENT_TYPES } from '../../event-types.js';
import type { Api, RouteDeps } from '../server.js';

export function eventTypeRoutes(app: Api, _deps: RouteDeps): void {
  /** The built-in types with the JSON Schema their `data` must match; producers' own types are free. */
  // The same for everyone and no account's data: a portal session may read it (its endpoint form).
  app.get('/v1/event-types', { config: { tenantScoped: true } }, async () => ({
    data: BUILT_IN_EVENT_TYPES.map(({ name, description, schema }) => ({ name, description, schema })),
    next_cursor: null,
  }));
}
