/**
 * The OpenAPI document's words about error answers, and which error statuses a route declares:
 * the server's description of its routes, beside the wire schemas of @herald/protocol/api.
 */

/** What each error status means for a caller, in the document's words. */
export const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid (`INVALID_REQUEST`): the message names the field at fault.',
  401: 'No API key, or an unknown or revoked one (`AUTHENTICATION_FAILED`).',
  403: 'The API key may not do this (`PERMISSION_DENIED`): a `read` key may only make GET requests, and some reads need an `admin` key.',
  404: 'Nothing with that id in your account (`NOT_FOUND`).',
  409: 'This `Idempotency-Key` was used in the last 24 hours with a different body (`IDEMPOTENCY_KEY_REUSED`).',
  413: 'The body is larger than the server accepts (`PAYLOAD_TOO_LARGE`).',
  429: 'Too many requests for this API key (`RATE_LIMIT_EXCEEDED`): wait the `retry-after` seconds.',
  500: 'Something went wrong on the server (`INTERNAL_ERROR`); it has been logged under the request id.',
  503: 'The server is shutting down or cannot reach its store (`SERVICE_UNAVAILABLE`): retry after `retry-after` seconds.',
};

/** A message each error status typically carries, for the document's examples. */
export const ERROR_EXAMPLE_MESSAGES: Record<number, string> = {
  400: 'url: must not be empty.',
  401: 'authorization: the API key is unknown or has been revoked.',
  403: 'This API key has the `read` role: it may only make GET requests.',
  404: 'No endpoint with id ep_01JDQ5V7Z7M3K0Q8R2W4Y6A9BC.',
  409: 'idempotency-key: "order-42" was already used with a different body in the last 24 hours.',
  413: 'body: is larger than this server accepts.',
  429: 'Too many requests: 200 per second allowed for this key.',
  500: 'Something went wrong on our side; the error has been logged.',
  503: 'The store cannot be reached right now; try again shortly.',
};

/**
 * The error statuses a route can answer with, by what the route is: every route can fail (500) or
 * be shutting down (503); one that takes input can be refused (400); one behind a key can be
 * refused it (401, 403) or be rate-limited (429); one with a body can get one too large (413); one
 * with an id in its path can name nothing (404). A route declares the others itself (a 404 for an
 * id in its query or body, a 409 for an Idempotency-Key). server.ts adds these to every route.
 */
export function commonErrorStatuses(route: { public: boolean; input: boolean; body: boolean; params: boolean }) {
  const statuses = [500, 503];
  if (route.input || !route.public) statuses.push(400);
  if (!route.public) statuses.push(401, 403, 429);
  if (route.body) statuses.push(413);
  if (route.params) statuses.push(404);
  return statuses.sort((a, b) => a - b);
}
