/**
 * The circuit's writes (dispatch/circuit.ts decides when), SQLite and PostgreSQL side by side. Each
 * is one conditional update of the endpoint row, fenced on the state it expects (closed to open,
 * open to closed), run in one transaction with the deliveries it moves: opening parks the
 * endpoint's pending deliveries (waiting-sql.ts PARK), closing releases them (RELEASE_BACKLOG).
 */

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
 * After a close: every pending delivery of the endpoint is due now, the waiting ones and those a
 * failed attempt scheduled later alike, so the backlog goes oldest first (the claim orders by due
 * time, then sequence). None is in flight: while the circuit was open only the probe was claimed,
 * and it is recorded before the close. Index: deliveries_endpoint_due. Params: at, at, endpoint id.
 */
export const RELEASE_BACKLOG = {
  sqlite: `UPDATE deliveries SET next_attempt_at = ?, updated_at = ?
    WHERE endpoint_id = ? AND status = 'pending'`,
  postgres: `UPDATE deliveries SET next_attempt_at = $1, updated_at = $2
    WHERE endpoint_id = $3 AND status = 'pending'`,
} as const;

/** A probe failed: the next one at probeAt. Params: probe at, endpoint id. */
export const FAIL_PROBE = {
  sqlite: `UPDATE endpoints SET circuit_probe_at = ?, circuit_probes = circuit_probes + 1
    WHERE id = ? AND circuit_opened_at IS NOT NULL`,
  postgres: `UPDATE endpoints SET circuit_probe_at = $1, circuit_probes = circuit_probes + 1
    WHERE id = $2 AND circuit_opened_at IS NOT NULL`,
} as const;
