/**
 * The circuit's writes (dispatch/circuit.ts decides when), SQLite and PostgreSQL side by side.
 *
 * The circuit is a filter on the endpoint row, read by the claim (claim-sql.ts DUE_ENDPOINTS skips
 * an endpoint whose circuit_opened_at is set; PROBE_ENDPOINTS hands it one probe at a time). No
 * statement here costs in proportion to the endpoint's backlog: opening and closing update the
 * endpoint row and at most a bounded set of delivery rows, and what has to touch the backlog
 * (expiry while open) does so in chunks of CIRCUIT_CHUNK rows, each its own short transaction.
 *
 * Why: opening used to park every pending delivery (next_attempt_at := NULL) and closing to make
 * every one due again, each in one UPDATE. Beside a dead endpoint with 1,000,000 deliveries those
 * two statements held the SQLite writer for seconds (PostgreSQL: a million-row transaction), and a
 * healthy neighbour's publish → first attempt p99 was 7.7 s (SQLite) / 15 s (PostgreSQL).
 *
 * What an open circuit's pending deliveries look like instead: each is due at its created_at
 * ("re-dated"), in the due index (deliveries_endpoint_due) in creation order. That holds by itself
 * for the never-attempted backlog (published due at created_at, the circuit changes nothing), and
 * is made to hold for the few rows a failed attempt scheduled later (a retry with back-off):
 * REDATE_SCHEDULED on opening and on each periodic pass, REDATE_HELD_BACK for the claimed but
 * unsent deliveries the dispatcher had queued when it opened. So, with one index and no NULLs:
 * - the probe is the endpoint's oldest delivery (claim-sql.ts PROBE_DELIVERY, its second branch);
 * - the 24-hour window closes exactly by a range: `next_attempt_at < window start` is
 *   `created_at < window start` (EXPIRE_DUE, chunked);
 * - on closing nothing is moved: the claim drains the backlog oldest first, paced by the
 *   endpoint's cap, beside every other endpoint's share (shareOut), as it drains any backlog.
 * Parking the rescheduled rows (NULL, expired by deliveries_waiting) was the other way to get a
 * precise expiry; re-dating them keeps one ordering for everything and leaves nothing to resume.
 *
 * Deliveries left waiting (NULL) by an older Herald, which parked the whole backlog on opening,
 * are still probed (PROBE_DELIVERY takes them first), expired (waiting-sql.ts EXPIRE) and, when
 * the circuit closes, re-dated to their created_at in chunks (RESUME_PARKED).
 */

/** Rows per statement where a pass may meet the backlog: a few ms of one writer at a time. */
export const CIRCUIT_CHUNK = 2000;

/** Closed → open, with the first probe at probeAt. Params: opened at, probe at, endpoint id. */
export const OPEN_CIRCUIT = {
  sqlite: `UPDATE endpoints SET circuit_opened_at = ?, circuit_probe_at = ?, circuit_probes = 0
    WHERE id = ? AND circuit_opened_at IS NULL AND disabled = 0 AND deleted_at IS NULL`,
  postgres: `UPDATE endpoints SET circuit_opened_at = $1, circuit_probe_at = $2, circuit_probes = 0
    WHERE id = $3 AND circuit_opened_at IS NULL AND disabled = 0 AND deleted_at IS NULL`,
} as const;

/** Open → closed (a probe succeeded). Params: endpoint id. */
export const CLOSE_CIRCUIT = {
  sqlite: `UPDATE endpoints SET circuit_opened_at = NULL, circuit_probe_at = NULL, circuit_probes = 0
    WHERE id = ? AND circuit_opened_at IS NOT NULL`,
  postgres: `UPDATE endpoints SET circuit_opened_at = NULL, circuit_probe_at = NULL, circuit_probes = 0
    WHERE id = $1 AND circuit_opened_at IS NOT NULL`,
} as const;

/**
 * An open circuit's deliveries that a failed attempt scheduled for later are due at their
 * created_at instead (see above). Only those: a range above `at` on deliveries_endpoint_due, so the
 * rows read are the retries scheduled ahead (at most what the endpoint had attempted), never the
 * backlog behind them. Leased rows (claimed_by set: the probe, or an attempt still in flight) are
 * left to their claimant; its record reschedules them and the next pass re-dates them.
 * Params: at, endpoint id, at (PostgreSQL: $1 at, $2 endpoint id).
 */
export const REDATE_SCHEDULED = {
  sqlite: `UPDATE deliveries SET next_attempt_at = created_at, updated_at = ?
    WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at > ? AND claimed_by IS NULL`,
  postgres: `UPDATE deliveries SET next_attempt_at = created_at, updated_at = $1
    WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at > $1 AND claimed_by IS NULL`,
} as const;

/**
 * On opening: the deliveries the dispatcher had claimed and queued but not sent are given back,
 * due at their created_at. Fenced on the claim, as every give-back. Primary key.
 * SQLite params (per delivery): at, delivery id, claim. PostgreSQL: $1 at, $2 ids, $3 claims.
 */
export const REDATE_HELD_BACK = {
  sqlite: `UPDATE deliveries SET next_attempt_at = created_at, claimed_by = NULL, updated_at = ?
    WHERE id = ? AND status = 'pending' AND claimed_by IS ?`,
  postgres: `UPDATE deliveries AS d SET next_attempt_at = d.created_at, claimed_by = NULL, updated_at = $1
    FROM unnest($2::text[], $3::text[]) AS c(id, claim)
    WHERE d.id = c.id AND d.status = 'pending' AND d.claimed_by IS NOT DISTINCT FROM c.claim`,
} as const;

/**
 * While open: up to `limit` of the endpoint's due deliveries whose window has closed end failed,
 * with the reason. Oldest first, a range on deliveries_endpoint_due below the window start (due
 * time = created_at, see above; created_at is checked too, for any row due later than it was made).
 * The caller repeats it until fewer than `limit` come back.
 * SQLite params: reason, at, endpoint id, window start, window start, limit.
 * PostgreSQL: $1 reason, $2 at, $3 endpoint id, $4 window start, $5 limit.
 */
export const EXPIRE_DUE = {
  sqlite: `UPDATE deliveries SET status = 'failed', failure_reason = ?, claimed_by = NULL, updated_at = ?
    WHERE id IN (SELECT id FROM deliveries
      WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at < ? AND created_at < ?
      ORDER BY next_attempt_at LIMIT ?)`,
  postgres: `UPDATE deliveries SET status = 'failed', failure_reason = $1, claimed_by = NULL, updated_at = $2
    WHERE id = ANY(ARRAY(SELECT id FROM deliveries
      WHERE endpoint_id = $3 AND status = 'pending' AND next_attempt_at < $4 AND created_at < $4
      ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED))`,
} as const;

/**
 * On closing: up to `limit` deliveries left waiting (NULL) by an older Herald are due at their
 * created_at, among the others by age. deliveries_waiting, oldest first; repeated until fewer come
 * back (none at all on a database written by this version).
 * SQLite params: at, endpoint id, limit. PostgreSQL: $1 at, $2 endpoint id, $3 limit.
 */
export const RESUME_PARKED = {
  sqlite: `UPDATE deliveries SET next_attempt_at = created_at, updated_at = ?
    WHERE id IN (SELECT id FROM deliveries
      WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at IS NULL
      ORDER BY created_at LIMIT ?)`,
  postgres: `UPDATE deliveries SET next_attempt_at = created_at, updated_at = $1
    WHERE id = ANY(ARRAY(SELECT id FROM deliveries
      WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at IS NULL
      ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED))`,
} as const;

/** A probe failed: the next one at probeAt. Params: probe at, endpoint id. */
export const FAIL_PROBE = {
  sqlite: `UPDATE endpoints SET circuit_probe_at = ?, circuit_probes = circuit_probes + 1
    WHERE id = ? AND circuit_opened_at IS NOT NULL`,
  postgres: `UPDATE endpoints SET circuit_probe_at = $1, circuit_probes = circuit_probes + 1
    WHERE id = $2 AND circuit_opened_at IS NOT NULL`,
} as const;
