/**
 * The statements of Store.settleWaitingDeliveries, SQLite and PostgreSQL side by side.
 *
 * A pending delivery whose endpoint is disabled WAITS: next_attempt_at is NULL. That keeps it out
 * of every due range (`next_attempt_at <= now` on deliveries_endpoint_due: the claim, /metrics,
 * /readyz, the backlog alert, the stats' oldest due), so a disabled endpoint's backlog costs them nothing, while its status stays
 * `pending` in the API (it may still be delivered). A separate status would have split every
 * `status = 'pending'` read in two and needed a new value in the contract's status enum.
 * An open circuit does not park its deliveries (circuit-sql.ts says why): only rows that an older
 * Herald parked for a circuit are NULL, and EXPIRE and the probe still read them.
 *
 * Each statement is per endpoint and reads only the rows it writes, through the index named beside it.
 */

/**
 * Parks a disabled endpoint's pending deliveries that still have a due time (published before the
 * disable, or given back with a schedule by an attempt that was in flight): they wait.
 * Index: deliveries_endpoint_due (endpoint_id, next_attempt_at) WHERE status = 'pending'.
 * Params: at, endpoint id.
 */
export const PARK = {
  sqlite: `UPDATE deliveries SET next_attempt_at = NULL, updated_at = ?
    WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at IS NOT NULL`,
  postgres: `UPDATE deliveries SET next_attempt_at = NULL, updated_at = $1
    WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at IS NOT NULL`,
} as const;

/**
 * Ends failed the waiting deliveries whose retry window has closed (created before the window
 * start), with the reason a person reads in the API.
 * Index: deliveries_waiting (endpoint_id, created_at) WHERE status = 'pending' AND next_attempt_at IS NULL.
 * Params: reason, at, endpoint id, window start.
 */
export const EXPIRE = {
  sqlite: `UPDATE deliveries SET status = 'failed', failure_reason = ?, updated_at = ?
    WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at IS NULL AND created_at < ?`,
  postgres: `UPDATE deliveries SET status = 'failed', failure_reason = $1, updated_at = $2
    WHERE endpoint_id = $3 AND status = 'pending' AND next_attempt_at IS NULL AND created_at < $4`,
} as const;

/**
 * An enabled endpoint's waiting deliveries (all inside their window once EXPIRE ran) are due now.
 * They share one due time, and the claim takes ties in insertion order, so they go oldest first;
 * the endpoint's cap on requests in flight paces them.
 * Index: deliveries_waiting. Params: at, at (SQLite: twice), endpoint id.
 */
export const RESUME = {
  sqlite: `UPDATE deliveries SET next_attempt_at = ?, updated_at = ?
    WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at IS NULL`,
  postgres: `UPDATE deliveries SET next_attempt_at = $1, updated_at = $1
    WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at IS NULL`,
} as const;

/**
 * The endpoints to settle: every one not deleted (a few index probes each, nothing read when it
 * has no waiting deliveries), or the ones named. Params: the ids as a JSON array or null (SQLite: twice).
 */
export const ENDPOINTS_TO_SETTLE = {
  sqlite: `SELECT id, disabled, disabled_reason, circuit_opened_at FROM endpoints
    WHERE deleted_at IS NULL AND (? IS NULL OR id IN (SELECT value FROM json_each(?)))`,
  postgres: `SELECT id, disabled, disabled_reason, circuit_opened_at FROM endpoints
    WHERE deleted_at IS NULL AND ($1::text[] IS NULL OR id = ANY($1::text[]))`,
} as const;

/** What settling needs of an endpoint row (ENDPOINTS_TO_SETTLE). */
export interface EndpointToSettle {
  id: string;
  disabled: number;
  disabled_reason: string | null;
  circuit_opened_at: number | null;
}

/**
 * What happens to one endpoint's deliveries: a disabled endpoint's wait (PARK); an open circuit's
 * stay due at their created_at and are left to the claim's filter on the endpoint row
 * (circuit-sql.ts: only the retries scheduled ahead are re-dated, and those past their window fail
 * in chunks); an enabled endpoint's resume. Waiting ones past their window fail with the reason that fits.
 */
export function settlingOf(
  endpoint: EndpointToSettle,
  reasons: { disabled: string; circuitOpen: string },
): { mode: 'wait' | 'circuit' | 'resume'; expiredReason: string } {
  if (endpoint.disabled)
    return { mode: 'wait', expiredReason: expiredReason(reasons.disabled, endpoint.disabled_reason) };
  if (endpoint.circuit_opened_at !== null) return { mode: 'circuit', expiredReason: `${reasons.circuitOpen}.` };
  return { mode: 'resume', expiredReason: `${reasons.disabled}.` };
}

/**
 * The reason stored on an expired delivery: the caller's sentence (without its full stop), with the
 * endpoint's own disabled reason when it has one.
 */
export function expiredReason(reason: string, disabledReason: string | null): string {
  return disabledReason ? `${reason} (${disabledReason.replace(/\.$/, '')}).` : `${reason}.`;
}
