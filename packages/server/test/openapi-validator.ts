import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';

/**
 * Checks real responses against the OpenAPI document (docs/openapi.json, which openapi.test.ts
 * keeps equal to what the server serves): the status must be one the document lists for the
 * route, and the body must match that status's schema. Stricter than the document in one way: an
 * object may carry no field its schema does not name, so a field the server sends but the
 * document lacks fails here (the document itself leaves objects open, for clients' sake).
 */

export const OPENAPI_PATH = new URL('../../../docs/openapi.json', import.meta.url);

type Json = Record<string, unknown>;

/** A copy in which every object schema with `properties` and no `additionalProperties` is closed. */
function closed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closed);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [key, child] of Object.entries(value)) out[key] = closed(child);
  if (out.properties !== undefined && typeof out.properties === 'object' && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

/** `~` and `/` escaped for a JSON pointer. */
const pointer = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export interface ResponseValidator {
  /** What is wrong with this answer to `method path`, or [] when the document describes it. */
  problems(method: string, path: string, status: number, contentType: string | null, body: unknown): string[];
}

export function createResponseValidator(document: Json): ResponseValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('date-time', (text: string) => ISO_TIME.test(text) && !Number.isNaN(Date.parse(text)));
  ajv.addSchema(closed(document) as Json, 'openapi.json');
  const paths = document.paths as Record<string, Record<string, Json>>;
  const components = document.components as { responses: Record<string, Json> };
  // Each path template as a regular expression: `/v1/endpoints/{id}` matches `/v1/endpoints/ep_1`.
  const templates = Object.keys(paths).map((template) => ({
    template,
    regex: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

  function validatorAt(ref: string) {
    let validate = compiled.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: ref });
      compiled.set(ref, validate);
    }
    return validate;
  }

  return {
    problems(method, path, status, contentType, body) {
      const bare = decodeURI(path.split('?')[0] ?? path);
      // A literal segment wins over a parameter (`/v1/deliveries/retry` over `/v1/deliveries/{id}`).
      const matches = templates.filter((t) => t.regex.test(bare) && paths[t.template]?.[method.toLowerCase()]);
      const match = matches.sort((a, b) => b.template.split('{').length - a.template.split('{').length).pop();
      const where = `${method} ${path} → ${status}`;
      if (!match) {
        // No documented route (an unknown path, or the dashboard's and /docs' files): an error must
        // still have the error body.
        if (status < 400 || !contentType?.includes('json')) return [];
        const validate = validatorAt('openapi.json#/components/schemas/Error');
        return validate(body) ? [] : [`${where}: not an error body: ${ajv.errorsText(validate.errors)}`];
      }
      const operation = paths[match.template]?.[method.toLowerCase()] as { responses: Record<string, Json> };
      let response = operation.responses[String(status)];
      let base = `openapi.json#/paths/${pointer(match.template)}/${method.toLowerCase()}/responses/${status}`;
      if (!response) {
        return [`${where}: the document lists no ${status} for ${method} ${match.template}`];
      }
      const ref = response.$ref as string | undefined;
      if (ref !== undefined) {
        const name = ref.split('/').pop() ?? '';
        response = components.responses[name] as Json;
        base = `openapi.json#/components/responses/${pointer(name)}`;
      }
      const content = response.content as Record<string, unknown>;
      const mediaType = Object.keys(content)[0] ?? '';
      if (mediaType !== 'application/json') {
        return contentType?.startsWith(mediaType) ? [] : [`${where}: content-type ${contentType}, not ${mediaType}`];
      }
      if (!contentType?.includes('application/json')) return [`${where}: content-type ${contentType}, not JSON`];
      const validate = validatorAt(`${base}/content/${pointer(mediaType)}/schema`);
      if (validate(body)) return [];
      return [`${where}: the body does not match the document: ${ajv.errorsText(validate.errors)}`];
    },
  };
}

let shared: ResponseValidator | undefined;

/** The validator of docs/openapi.json, made once per test file. */
export function responseValidator(): ResponseValidator {
  shared ??= createResponseValidator(JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as Json);
  return shared;
}
