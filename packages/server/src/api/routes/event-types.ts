import { BUILT_IN_EVENT_TYPES } from '../../event-types.js';
import type { Api, RouteDeps } from '../server.js';

export function eventTypeRoutes(app: Api, _deps: RouteDeps): void {
  /** The built-in types with the JSON Schema their `data` must match; producers' own types are free. */
  app.get('/v1/event-types', async () => ({
    data: BUILT_IN_EVENT_TYPES.map(({ name, description, schema }) => ({ name, description, schema })),
    next_cursor: null,
  }));
}
