/** The tables as Kysely sees them. Times are integer ms; JSON columns are text. */
export interface Database {
  accounts: { id: string; created_at: number };
  api_keys: {
    id: string;
    account_id: string;
    role: string;
    prefix: string;
    hash: string;
    created_at: number;
    revoked_at: number | null;
  };
  endpoints: {
    tenant_id: string | null;
    id: string;
    account_id: string;
    url: string;
    description: string;
    event_types: string;
    connection_ids: string;
    secret: string;
    previous_secret: string | null;
    previous_secret_expires_at: number | null;
    signature_scheme: string;
    headers: string;
    rate_limit_per_s: number | null;
    disabled: number;
    disabled_reason: string | null;
    failing_since: number | null;
    circuit_opened_at: number | null;
    circuit_probe_at: number | null;
    circuit_probes: number;
    last_sequence: number;
    created_at: number;
    updated_at: number;
    deleted_at: number | null;
  };
  events: {
    tenant_id: string | null;
    feed_seq: number;
    id: string;
    account_id: string;
    type: string;
    occurred_at: number;
    connection_id: string | null;
    data: string;
    created_at: number;
  };
  deliveries: {
    tenant_id: string | null;
    id: string;
    account_id: string;
    event_id: string;
    endpoint_id: string;
    status: string;
    sequence: number;
    attempt_count: number;
    next_attempt_at: number | null;
    /** The token of the claim holding the delivery now (Store.claimDueDeliveries); null: none. */
    claimed_by: string | null;
    failure_reason: string | null;
    created_at: number;
    updated_at: number;
  };
  attempts: {
    id: string;
    delivery_id: string;
    attempt_no: number;
    started_at: number;
    duration_ms: number;
    request_headers: string;
    response_status: number | null;
    response_headers: string | null;
    response_body: string | null;
    error: string | null;
    manual: number;
  };
  jobs: {
    tenant_id: string | null;
    id: string;
    account_id: string;
    kind: string;
    state: string;
    params: string;
    total: number;
    lease_owner: string | null;
    lease_until: number | null;
    created_at: number;
    finished_at: number | null;
  };
  job_items: {
    job_id: string;
    delivery_id: string;
    outcome: string | null;
    started_at: number | null;
    finished_at: number | null;
  };
  connections: {
    tenant_id: string | null;
    account_id: string;
    id: string;
    status: string;
    last_successful_sync_at: number | null;
    last_error: string | null;
    next_scheduled_sync_at: number | null;
    sync_started_at: number | null;
    created_at: number;
    updated_at: number;
  };
  /** When each periodic check last ran anywhere in the fleet (claimPeriodicRun). */
  periodic_runs: { name: string; last_run_at: number; owner: string };
  /** Which dispatcher holds each endpoint's deliveries now (claimDueDeliveries). */
  endpoint_leases: { endpoint_id: string; owner: string; lease_until: number };
  alerts: {
    account_id: string;
    key: string;
    kind: string;
    endpoint_id: string | null;
    value: number;
    threshold: number;
    opened_at: number;
  };
  tenants: {
    account_id: string;
    id: string;
    name: string;
    metadata: string;
    created_at: number;
    updated_at: number;
  };
  portal_sessions: {
    id: string;
    account_id: string;
    tenant_id: string;
    hash: string;
    read_only: number;
    created_at: number;
    expires_at: number;
  };
  /** Every alert, open (resolved_at null) or resolved; `details` is JSON. */
  alert_history: {
    id: string;
    account_id: string;
    key: string;
    kind: string;
    endpoint_id: string | null;
    value: number;
    threshold: number;
    message: string;
    details: string;
    opened_at: number;
    resolved_at: number | null;
  };
  idempotency_keys: {
    account_id: string;
    key: string;
    request_hash: string;
    event_id: string;
    deliveries: string;
    created_at: number;
    expires_at: number;
  };
}
