import { readFileSync } from 'node:fs';
import { OpenApiDocumentSchema } from '@herald/protocol/api';
import { type CollectedRoute, openApiDocument } from '../openapi.js';
import type { Api } from '../server.js';

/** The same relative path from src/api/routes (tests) and dist/api/routes (the built server). */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * GET /v1/openapi.json: the document of every route `routes` holds (server.ts fills it as routes
 * are registered), built at the first request, when every route is in.
 */
export function openApiRoutes(app: Api, routes: readonly CollectedRoute[]): void {
  let document: ReturnType<typeof openApiDocument> | undefined;
  app.get(
    '/v1/openapi.json',
    {
      config: { public: true },
      schema: {
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        description:
          'The OpenAPI 3.1 description of this API, generated from the schemas the server validates with. Needs no key. Read it at /docs/.',
        tags: ['Operations'],
        response: { 200: OpenApiDocumentSchema },
      },
    },
    async () => {
      document ??= openApiDocument(routes, { version: VERSION });
      return document;
    },
  );
}
