import type { SignatureScheme } from '@herald/protocol';

/**
 * The one Store interface. SQLite (the default) and PostgreSQL implement it and pass one shared
 * suite. Times are milliseconds since the epoch; JSON columns are parsed values here.
 * Every read and write of an account's resources takes the account id: another account's id is
 * simply not found.
 */

export type Role = 'admin' | 'read';

export interface ApiKeyRecord {
  id: string;
  accountId: string;
  role: Role;
  /** The first characters of the key, shown in lists so a person can tell keys apart. */
  prefix: string;
  /** SHA-256 of the full key, hex. */
  hash: string;
  createdAt: number;
  revokedAt: number | null;
}

/**
 * A tenant: one customer of the producer, named by the producer's own id. Its endpoints, events,
 * deliveries, connections and jobs carry its id, and a portal session sees only those.
 */
export interface TenantRecord {
  id: string;
  accountId: string;
  name: string;
  metadata: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/** A portal session: a bearer token scoped to one tenant. Only the token's SHA-256 is stored. */
export interface PortalSessionRecord {
  id: string;
  accountId: string;
  tenantId: string;
  hash: string;
  readOnly: boolean;
  createdAt: number;
  expiresAt: number;
}

/**
 * Which of an account's resources a read or write may touch: with `tenantId`, only that tenant's
 * (the filter of a portal session, or of `?tenant_id=`); without, all of the account's.
 */
export interface TenantFilter {
  tenantId?: string | undefined;
}

export interface EndpointRecord {
  id: string;
  accountId: string;
  /** The tenant it belongs to, fixed at creation; null: the producer's own (gets tenant-less events). */
  tenantId: string | null;
  url: string;
  description: string;
  /** Empty: every type. */
  eventTypes: string[];
  /** Empty: every connection. */
  connectionIds: string[];
  /** The current secret, `whsec_…`. */
  secret: string;
  /** The secret before the last rotation, and until when it still signs beside the new one. */
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  signatureScheme: SignatureScheme;
  headers: Record<string, string>;
  rateLimitPerS: number | null;
  disabled: boolean;
  disabledReason: string | null;
  /**
   * When the endpoint's current run of failed attempts began: set by the first failed attempt after
   * a success (or after none), cleared by any successful attempt and by re-enabling. null: not failing.
   */
  failingSince: number | null;
  /** The circuit (dispatch/circuit.ts); openedAt null: closed. */
  circuit: EndpointCircuit;
  /** The sequence of the endpoint's newest delivery; 0 before the first. */
  lastSequence: number;
  createdAt: number;
  updatedAt: number;
}

/** A delivery claimed and queued but not sent when its endpoint's circuit opened (Store.openCircuit). */
export interface HeldBackClaim {
  deliveryId: string;
  /** The claim's token (claimed_by): the give-back is fenced on it. */
  claim: string | null;
}

export interface EndpointCircuit {
  /** When it opened after consecutive failures; null: closed, deliveries flow. */
  openedAt: number | null;
  /** While open: when the next probe may be claimed (a claimed probe moves it to its lease end). */
  probeAt: number | null;
  /** Probes that failed since it opened (the next one waits twice as long). */
  failedProbes: number;
}

export type NewEndpoint = Omit<
  EndpointRecord,
  | 'lastSequence'
  | 'updatedAt'
  | 'previousSecret'
  | 'previousSecretExpiresAt'
  | 'disabledReason'
  | 'failingSince'
  | 'circuit'
  | 'tenantId'
> & { tenantId?: string | null | undefined };

export type EndpointPatch = EndpointFields & {
  /**
   * A rotation: the stored secret becomes the previous one (signing until `previousExpiresAt`) and
   * `to` the secret, in the one UPDATE, so two rotations at once both keep theirs (the earlier as
   * the previous secret) instead of each stepping the same old secret back.
   */
  rotateSecret?: { to: string; previousExpiresAt: number } | undefined;
};

type EndpointFields = Partial<
  Pick<
    EndpointRecord,
    | 'url'
    | 'description'
    | 'eventTypes'
    | 'connectionIds'
    | 'signatureScheme'
    | 'headers'
    | 'rateLimitPerS'
    | 'disabled'
    | 'disabledReason'
    | 'secret'
    | 'previousSecret'
    | 'previousSecretExpiresAt'
  >
>;

export interface EventRecord {
  id: string;
  accountId: string;
  /** Its tenant: it fans out to that tenant's endpoints only; null: to tenant-less endpoints only. */
  tenantId: string | null;
  type: string;
  occurredAt: number;
  connectionId: string | null;
  data: unknown;
  createdAt: number;
  /** The feed position: assigned in commit order, so a cursor never skips a late commit. */
  feedSeq: number;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface DeliveryRecord {
  id: string;
  accountId: string;
  /** Its event's tenant, which is also its endpoint's. */
  tenantId: string | null;
  eventId: string;
  endpointId: string;
  status: DeliveryStatus;
  sequence: number;
  attemptCount: number;
  /**
   * When the next automatic attempt is due; null once succeeded or failed, and null while pending
   * when the delivery waits for its disabled endpoint (Store.settleWaitingDeliveries).
   */
  nextAttemptAt: number | null;
  /**
   * Why a delivery ended failed without its last attempt deciding it (its endpoint was disabled or
   * deleted until its window closed), for a person to read; null otherwise (the attempts tell).
   */
  failureReason: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Store.describeDeliveries: a delivery's event type, endpoint and latest attempt (null when none). */
export interface DeliveryContext {
  eventType: string | null;
  endpointDescription: string | null;
  endpointUrl: string | null;
  lastAttempt: AttemptRecord | null;
}

export type AttemptError = 'timeout' | 'refused' | 'reset' | 'dns' | 'tls' | 'blocked' | 'http_status';

export interface AttemptRecord {
  id: string;
  deliveryId: string;
  attemptNo: number;
  startedAt: number;
  durationMs: number;
  requestHeaders: Record<string, string>;
  responseStatus: number | null;
  responseHeaders: Record<string, string> | null;
  /** The first 4 KiB of the response body. */
  responseBody: string | null;
  error: AttemptError | null;
  /** A person asked for it (manual retry); it does not move the automatic schedule. */
  manual: boolean;
}

export interface PublishInput {
  accountId: string;
  /** The event's tenant (must exist; the API checks): it fans out to that tenant's endpoints only. */
  tenantId?: string | null | undefined;
  /**
   * A test event for one endpoint: the only delivery goes to it, whatever its event_types (if it is
   * enabled and of the event's tenant).
   */
  onlyEndpointId?: string | undefined;
  id: string;
  type: string;
  occurredAt: number;
  connectionId: string | null;
  data: unknown;
  createdAt: number;
  /**
   * The `Idempotency-Key` of the request and a hash of its body. Checked and recorded in the
   * publish transaction itself, so two requests with one key can never both publish.
   */
  idempotency?: { key: string; requestHash: string; expiresAt: number } | undefined;
  /**
   * A sync report that this event announces (`sync.completed` / `sync.failed` from
   * POST /v1/connections/:id/syncs): applied exactly as `recordConnectionSync` would, in the SAME
   * transaction as the event, so the status and its event are both written or neither is. Not
   * applied when the idempotency key replays or conflicts.
   */
  connectionSync?: ConnectionSyncReport | undefined;
  /**
   * A `started` sync report, which announces nothing: its connectionSync and its idempotency key are
   * written, but no event and no deliveries (`id` is only the idempotency record's reference).
   */
  eventless?: boolean | undefined;
}

export interface PublishResult {
  id: string;
  /** Ids of the deliveries created, one per matching endpoint. */
  deliveries: string[];
  /**
   * The endpoints whose new delivery is due now (enabled, circuit closed): what the publish wakes
   * the dispatcher for (claim-loop.ts). Absent on a replay or a conflict, which created nothing.
   */
  dueEndpoints?: string[];
  /**
   * `replayed`: the key was used before with the same body; this is the first publish's result and
   * nothing was written. `conflict`: the key was used with another body; nothing was written.
   */
  idempotency?: 'replayed' | 'conflict';
}

/** A claimed delivery with everything needed to send it. */
export interface ClaimedDelivery {
  delivery: DeliveryRecord;
  /**
   * The token of the claim that took it (claimDueDeliveries), which its outcome and its release
   * must carry: a write is fenced on it, so an attempt whose claim has ended (the lease ran out and
   * another claim took the delivery, or the delivery was settled meanwhile) writes nothing back.
   * null from claimDelivery: a manual attempt holds no claim.
   */
  claim: string | null;
  endpoint: EndpointRecord;
  /**
   * dataJson, when a store sets it: `data` as the JSON text it was stored as (JSON.stringify's
   * output), so the envelope can splice it in instead of serializing `data` again.
   */
  event: EventRecord & { dataJson?: string };
}

/** What the dispatcher writes after an attempt: the attempt row and the delivery's new state. */
export interface AttemptOutcome {
  attempt: AttemptRecord;
  /** The claim the attempt was made under (ClaimedDelivery.claim); null for a manual attempt. */
  claim: string | null;
  status: DeliveryStatus;
  nextAttemptAt: number | null;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface DeliveryFilter extends TenantFilter {
  status?: DeliveryStatus | undefined;
  endpointId?: string | undefined;
  eventId?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface EventFilter extends TenantFilter {
  type?: string | undefined;
  connectionId?: string | undefined;
  /** A feed position (EventRecord.feedSeq) as text; events after it. */
  after?: string | undefined;
  limit: number;
}

export type JobState = 'running' | 'completed' | 'failed';
export type JobItemOutcome = 'succeeded' | 'failed';

/** A background job over a fixed set of deliveries (today only `bulk_retry`). */
export interface JobRecord {
  id: string;
  accountId: string;
  /** The tenant whose deliveries it retries (a portal session's job); null: the account's. */
  tenantId: string | null;
  kind: 'bulk_retry';
  state: JobState;
  /** What was asked for, as given (for a bulk retry: endpoint_id, since, until). */
  params: Record<string, unknown>;
  /** Items written at creation; never changes. */
  total: number;
  /** Items with the outcome `succeeded` / `failed`; done = succeeded + failed. */
  succeeded: number;
  failed: number;
  createdAt: number;
  finishedAt: number | null;
}

/** Which failed deliveries a bulk retry takes. Times are the delivery's created_at, ms. */
export interface BulkRetryFilter extends TenantFilter {
  endpointId?: string | undefined;
  /** Inclusive. */
  since?: number | undefined;
  /** Exclusive. */
  until?: number | undefined;
}

/** An item of a job that has no outcome yet, with what the runner needs to decide about it. */
export interface OpenJobItem {
  deliveryId: string;
  /** When a runner first took the item, or null: a non-null value means a runner may have attempted it. */
  startedAt: number | null;
  /** The delivery's status now. */
  deliveryStatus: DeliveryStatus;
  /** The delivery's endpoint has been deleted since: there is nowhere to send it. */
  endpointDeleted: boolean;
}

export interface JobItemResult {
  jobId: string;
  deliveryId: string;
  outcome: JobItemOutcome;
}

export type SyncStatus = 'started' | 'completed' | 'failed';

/** A producer's connection (its own id, e.g. `con_…`) and the status of its syncs. */
export interface ConnectionRecord {
  id: string;
  accountId: string;
  /** Set by the first sync report that names a tenant, and fixed from then on. */
  tenantId: string | null;
  /** The status of the last report. */
  status: SyncStatus;
  lastSuccessfulSyncAt: number | null;
  /** The error of the last failed sync; cleared by a completed one. */
  lastError: string | null;
  nextScheduledSyncAt: number | null;
  /** When the last `started` report came. */
  syncStartedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** One sync report (POST /v1/connections/:id/syncs). */
export interface ConnectionSyncReport {
  accountId: string;
  connectionId: string;
  /** Sets the connection's tenant when it has none yet; never changes one it has. */
  tenantId?: string | null | undefined;
  status: SyncStatus;
  /** Stored as last_error when `failed` (null: none given). Ignored otherwise. */
  error: string | null;
  /** undefined: keep the connection's next_scheduled_sync_at; a number or null: set it. */
  nextScheduledAt?: number | null | undefined;
  at: number;
}

/** Whether deliveries are moving, read on every /readyz and /metrics scrape: index probes only. */
export interface DeliveryHealth {
  /** next_attempt_at of the oldest delivery due at `now` whose endpoint is enabled, circuit closed; null: none is due. */
  oldestDueAt: number | null;
  /** started_at of the newest recorded attempt, any process; null: none yet. */
  lastAttemptAt: number | null;
}

/** One endpoint's attempts in a window (alerts read failure rates from it). */
export interface EndpointAttemptCounts {
  accountId: string;
  endpointId: string;
  attempts: number;
  failures: number;
}

/** An alert that has fired and not yet resolved; kept so that a restart does not fire it again. */
export interface AlertRecord {
  accountId: string;
  /** Unique per account: `delivery_backlog`, or `endpoint_failure_rate:<endpoint id>`. */
  key: string;
  kind: 'endpoint_failure_rate' | 'delivery_backlog';
  endpointId: string | null;
  /** The value that crossed the threshold when it fired. */
  value: number;
  threshold: number;
  openedAt: number;
  /** What the alert says, and the figures that fired it, kept in its history (GET /v1/alerts). */
  message?: string;
  details?: Record<string, unknown>;
}

/** An alert as GET /v1/alerts lists it: open (resolvedAt null) or resolved. */
export interface AlertEntry extends AlertRecord {
  id: string;
  message: string;
  details: Record<string, unknown>;
  resolvedAt: number | null;
}

export interface AlertFilter {
  /** undefined: the open ones and those resolved at or after `resolvedSince`. */
  state?: 'open' | 'resolved' | undefined;
  resolvedSince: number;
  cursor?: string | undefined;
  limit: number;
}

/** Store.accountHealth: what the dashboard's overview shows besides the chart. */
export interface AccountHealth {
  /** The oldest delivery due at `now` whose endpoint is enabled and its circuit closed; null: none is due. */
  oldestDue: { deliveryId: string; dueAt: number } | null;
  /** Enabled endpoints in a run of failed attempts (failing_since set). */
  failingEndpoints: number;
  disabledEndpoints: number;
}

/** Store.deliveryStats: only buckets and endpoints with deliveries are listed. */
export interface DeliveryStats {
  counts: Array<{ bucketStart: number; status: DeliveryStatus; count: number }>;
  failedByEndpoint: Array<{ endpointId: string; failed: number }>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Fails when the database cannot be reached; /readyz uses it. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /** Admin keys not revoked, of every account: with none, nobody can manage anything. */
  countActiveAdminKeys(): Promise<number>;
  createAccount(id: string, createdAt: number): Promise<void>;
  createApiKey(key: ApiKeyRecord): Promise<void>;
  /**
   * Makes `key` (an admin key) only if no active admin key exists at all, in one transaction that
   * processes starting at once on one database take in turn: of them, exactly one gets true.
   * Revoked keys do not count, so a start with HERALD_BOOTSTRAP_KEY lets an operator back in:
   * - a key with the same hash that was revoked is made an active admin key again, in its account;
   * - else, with exactly one account, the key is made in it (a locked-out install gets its admin back);
   * - else the key is made in a new account `key.accountId`.
   */
  createFirstApiKey(key: ApiKeyRecord): Promise<boolean>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(accountId: string): Promise<ApiKeyRecord[]>;
  /**
   * Revokes an active key of the account, unless it is the account's last active admin key: the
   * check and the write are one atomic step (the account is locked meanwhile), so two revocations at
   * once can never leave an account without an admin key.
   */
  revokeApiKey(accountId: string, id: string, at: number): Promise<'revoked' | 'not_found' | 'last_admin'>;

  createEndpoint(endpoint: NewEndpoint): Promise<EndpointRecord>;
  getEndpoint(accountId: string, id: string): Promise<EndpointRecord | undefined>;
  listEndpoints(
    accountId: string,
    page: { cursor?: string | undefined; limit: number } & TenantFilter,
  ): Promise<Page<EndpointRecord>>;
  /** Applies the patch. `disabled: false` also clears failingSince: a re-enabled endpoint starts a fresh run. */
  updateEndpoint(accountId: string, id: string, patch: EndpointPatch, at: number): Promise<EndpointRecord | undefined>;
  /** Deletes the endpoint; its pending deliveries become failed (failure_reason says why). */
  deleteEndpoint(accountId: string, id: string, at: number): Promise<boolean>;

  /**
   * Writes the events and one delivery per matching endpoint, all in ONE transaction (the group
   * commit): the caller acknowledges each event only after this resolves. A disabled endpoint's
   * delivery is written waiting (next_attempt_at NULL), so its stream has no hole.
   */
  publish(events: PublishInput[]): Promise<PublishResult[]>;
  getEvent(accountId: string, id: string): Promise<EventRecord | undefined>;
  listEvents(accountId: string, filter: EventFilter): Promise<Page<EventRecord>>;
  /** One endpoint's deliveries after `afterSequence`, in sequence order, with their events. */
  listEndpointStream(
    accountId: string,
    endpointId: string,
    afterSequence: number,
    limit: number,
  ): Promise<Array<{ delivery: DeliveryRecord; event: EventRecord }>>;

  listDeliveries(accountId: string, filter: DeliveryFilter): Promise<Page<DeliveryRecord>>;
  /**
   * The account's deliveries created in [since, until), counted by `bucketMs` of their creation time
   * and by where they stand now; and the failed ones per endpoint. A range on deliveries_account
   * (ids sort by creation time), read in one pass each: for the dashboard's overview.
   */
  deliveryStats(
    accountId: string,
    window: { since: number; until: number; bucketMs: number } & TenantFilter,
  ): Promise<DeliveryStats>;
  /**
   * The oldest due delivery (one probe of deliveries_endpoint_due per enabled endpoint whose
   * circuit is closed, as /readyz reads it) and the failing and disabled
   * endpoint counts (endpoints_account_failing, endpoints_account_disabled) of one account, or of
   * one of its tenants.
   */
  accountHealth(accountId: string, now: number, filter?: TenantFilter): Promise<AccountHealth>;
  /**
   * Alerts newest first (opened_at, then id); the cursor is the last id of the previous page. Open
   * ones walk alert_history_open, resolved ones alert_history_resolved from `resolvedSince` on.
   */
  listAlerts(accountId: string, filter: AlertFilter): Promise<Page<AlertEntry>>;
  getDelivery(accountId: string, id: string): Promise<DeliveryRecord | undefined>;
  listAttempts(deliveryId: string): Promise<AttemptRecord[]>;
  /**
   * What a person needs to act on a page of deliveries without opening each one: its event's type,
   * its endpoint's description and URL, and its latest attempt. Three indexed reads for the whole
   * page (events and endpoints by primary key, attempts by attempts_delivery), whatever its size.
   */
  describeDeliveries(accountId: string, deliveries: DeliveryRecord[]): Promise<Map<string, DeliveryContext>>;
  listDeliveriesOfEvent(accountId: string, eventId: string): Promise<DeliveryRecord[]>;

  /**
   * Claims up to `limit` pending deliveries due at `now` by moving their next_attempt_at to
   * `now + leaseMs`: a process that dies holding them loses them only until the lease runs out.
   * The batch is shared between the endpoints with due work (store/claim-sql.ts), oldest due first
   * within each; an endpoint left out (excluded, leased to another claimant, disabled, deleted)
   * costs no read of its deliveries. Returns each with its endpoint and event, oldest due first,
   * and the claim's token (ClaimedDelivery.claim, new for each call).
   */
  claimDueDeliveries(claim: {
    now: number;
    limit: number;
    leaseMs: number;
    /** Endpoints whose queue in this process is full: their deliveries stay for another claim. */
    excludeEndpointIds?: readonly string[];
    /**
     * The claiming dispatcher. The store leases each endpoint to one claimant at a time (until
     * `now + leaseMs`, renewed by each claim that takes its deliveries), and never hands an
     * endpoint's deliveries to another claimant while the lease runs: so the dispatcher's per-endpoint
     * cap on requests in flight and its rate limit hold across every process on the database.
     * `releaseEndpointIds`: endpoints the claimant has no deliveries of any more (queued or in
     * flight); their leases are let go of before the claim. Without a claimant, leased endpoints
     * are skipped too.
     */
    claimant?: { id: string; releaseEndpointIds: readonly string[] };
  }): Promise<ClaimedDelivery[]>;
  /** The claimant stops: lets go of every endpoint lease it holds, so others take them at once. */
  releaseEndpointLeases(claimantId: string): Promise<void>;
  /** The claimants holding endpoint leases now (a starting dispatcher lets go for the dead ones of its host). */
  endpointLeaseOwners(): Promise<string[]>;
  /**
   * Reads one delivery for a manual attempt, whatever its status; undefined when its endpoint has
   * been deleted (there is nowhere to send it). It takes no claim (ClaimedDelivery.claim is null).
   */
  claimDelivery(accountId: string, id: string): Promise<ClaimedDelivery | undefined>;
  /**
   * Records attempts and the deliveries' new states, in one transaction, and in the same
   * transaction each endpoint's failingSince, outcome by outcome in order: a failed attempt sets it
   * to the attempt's startedAt where it is null; a successful one clears it.
   *
   * Every attempt row is written and counted in attempt_count; the delivery's state only where the
   * outcome may still decide it, so a state never goes backwards:
   * - an automatic outcome only while the delivery is `pending` and still held by the outcome's
   *   claim (`… WHERE status = 'pending' AND claimed_by IS claim`): a delete (which fails the
   *   delivery), a manual success, or another claim after the lease ran out, all win over it;
   * - a manual outcome only ever makes a delivery `succeeded`: a manual failure writes no state, so it
   *   never revives a `failed` delivery nor demotes a `succeeded` one.
   */
  recordAttempts(outcomes: AttemptOutcome[], at: number): Promise<void>;
  /**
   * Gives claimed deliveries back (shutdown, or held too long): due again at `at`, each only while
   * still pending and held by the claim given with it.
   */
  releaseClaims(claims: Array<{ deliveryId: string; claim: string | null }>, at: number): Promise<void>;

  /**
   * Disables an enabled, not deleted endpoint with ONE conditional update (… WHERE disabled = 0),
   * and with `failingSinceAtOrBefore` only while its failingSince is at or before that time.
   * Returns the endpoint when THIS call disabled it, undefined otherwise: of several processes that
   * race, exactly one gets it back, and only that one publishes `endpoint.disabled`: `event`, when
   * given, is published in the same transaction as the update, so a crash cannot keep one without
   * the other.
   */
  disableEndpoint(
    accountId: string,
    id: string,
    change: { reason: string; at: number; failingSinceAtOrBefore?: number | undefined; event?: PublishInput },
  ): Promise<EndpointRecord | undefined>;
  /**
   * Keeps disabled endpoints' deliveries off the claim path (store/waiting-sql.ts), for the
   * endpoints named (every endpoint not deleted when `endpointIds` is omitted), each in one
   * transaction:
   * - disabled: its pending deliveries with a due time wait (next_attempt_at := NULL);
   * - circuit open: its deliveries a failed attempt scheduled ahead are due at their created_at
   *   (store/circuit-sql.ts), and its due deliveries created before `windowStart` end `failed`, in
   *   chunks of a few thousand rows, each chunk its own transaction;
   * - waiting deliveries created before `windowStart` (their retry window has closed) end `failed`,
   *   failure_reason := `reasons.disabled` with the endpoint's disabled_reason, or
   *   `reasons.circuitOpen` while its circuit is open (sentences without their full stop);
   * - enabled with its circuit closed: its waiting deliveries (inside their window) are due at `at`.
   * Safe to run any time and twice: the periodic check runs it for all, a disable or re-enable for one.
   */
  settleWaitingDeliveries(settle: {
    at: number;
    windowStart: number;
    reasons: { disabled: string; circuitOpen: string };
    endpointIds?: readonly string[] | undefined;
  }): Promise<{ waiting: number; failed: number; resumed: number }>;
  /**
   * The circuit (dispatch/circuit.ts; statements in store/circuit-sql.ts): a filter on the
   * endpoint row that the claim reads; no write costs in proportion to the endpoint's backlog.
   * openCircuit: closed → open with the first probe at `probeAt`, in one transaction with a bounded
   * set of deliveries: `heldBack` (claimed, not sent) are given back and those a failed attempt
   * scheduled ahead are re-dated, all due at their created_at; false when it was open already (or
   * the endpoint is disabled or deleted). closeCircuit: open → closed; the backlog is already due
   * in creation order, so the claim drains it oldest first (deliveries an older version parked are
   * re-dated too, in chunks). failCircuitProbe: the next probe at `probeAt`, failedProbes + 1.
   * The claim gives an open circuit whose probeAt has come one delivery, and moves probeAt to the
   * claim's lease end.
   */
  openCircuit(
    endpointId: string,
    change: { at: number; probeAt: number; heldBack?: readonly HeldBackClaim[] },
  ): Promise<boolean>;
  closeCircuit(endpointId: string, at: number): Promise<boolean>;
  failCircuitProbe(endpointId: string, probeAt: number): Promise<void>;
  /** Enabled, not deleted endpoints of every account whose failingSince is at or before `failingSince`. */
  listFailingEndpoints(failingSince: number): Promise<EndpointRecord[]>;

  /**
   * A periodic check asks whether it is its turn: true, and `name` is recorded as run at `now` by
   * `owner`, when nobody has run it since `now - intervalMs * 0.9`; false otherwise. One conditional
   * write, so of several processes whose timers fire at once exactly one gets true: the check runs
   * once per interval across the fleet (the 10 % slack keeps timers that drift from skipping a turn).
   */
  claimPeriodicRun(run: { name: string; now: number; intervalMs: number; owner: string }): Promise<boolean>;

  /**
   * The oldest due delivery and the last attempt, cheaply enough to run on every scrape whatever the
   * backlog: the oldest due is one probe of deliveries_endpoint_due per enabled endpoint, the last
   * attempt the top of attempts_started.
   */
  deliveryHealth(now: number): Promise<DeliveryHealth>;
  /**
   * Deliveries with status `pending` (due, claimed, or waiting for a retry), disabled endpoints'
   * included. A scan of every pending row (about 100 ms per million on PostgreSQL), so no request
   * waits for it: /metrics serves the last count and starts the next (metrics.ts).
   */
  countPendingDeliveries(): Promise<number>;
  /**
   * Per account, the oldest delivery whose endpoint is enabled and that has been due since at or
   * before `dueAtOrBefore` (the backlog alert). One probe of deliveries_endpoint_due per enabled endpoint.
   */
  overdueByAccount(dueAtOrBefore: number): Promise<Array<{ accountId: string; oldestDueAt: number }>>;
  /** Attempts (automatic and manual) started at or after `since`, per endpoint that had any. */
  endpointAttemptCounts(since: number): Promise<EndpointAttemptCounts[]>;

  /** Every open alert, any account. */
  listOpenAlerts(): Promise<AlertRecord[]>;
  /**
   * Records an alert as open, and publishes `event` in the same transaction; false (and nothing
   * published) when it already was open: of several processes, only one fires it.
   */
  openAlert(alert: AlertRecord, event?: PublishInput): Promise<boolean>;
  /**
   * Removes an open alert and publishes `event` with it; false (nothing published) when it was not
   * open. Its history entry is resolved at event.createdAt (now without an event).
   */
  closeAlert(accountId: string, key: string, event?: PublishInput): Promise<boolean>;

  /**
   * Retention: replaces the payload (data) of up to `limit` events created before `before` with
   * JSON null, and clears the response body of up to `limit` attempts started before it. Ids, types,
   * times, statuses and headers stay. Returns how many of each were purged (less than `limit`: done).
   */
  purgeBefore(before: number, limit: number): Promise<{ events: number; attempts: number }>;
  /**
   * Retention: deletes up to `limit` idempotency keys that expired at or before `now` (a publish
   * treats them as absent already), oldest first through idempotency_keys_expiry. Returns how many
   * (less than `limit`: done).
   */
  purgeExpiredIdempotencyKeys(now: number, limit: number): Promise<number>;
  /**
   * Retention: deletes up to `limit` alerts of the history (GET /v1/alerts) resolved before
   * `before`; open ones stay whatever their age. Returns how many (less than `limit`: done).
   */
  purgeResolvedAlerts(before: number, limit: number): Promise<number>;

  /**
   * Creates a bulk retry job: the job row and one item per `failed` delivery of the account that
   * matches the filter and whose endpoint is not deleted, in ONE transaction, so `total` is fixed
   * and the set is durable. A job with no items is created `completed` (finishedAt = createdAt).
   */
  createBulkRetryJob(job: {
    id: string;
    accountId: string;
    filter: BulkRetryFilter;
    params: Record<string, unknown>;
    createdAt: number;
  }): Promise<JobRecord>;
  /** A job with its counts; undefined for another account's job. */
  getJob(accountId: string, id: string): Promise<JobRecord | undefined>;
  /**
   * Leases the oldest `running` job whose lease is free or has run out (a process that died holding
   * it loses it when the lease ends) to `owner` until `now + leaseMs`. Any account.
   */
  claimRunningJob(claim: { now: number; leaseMs: number; owner: string }): Promise<JobRecord | undefined>;
  /** Extends the lease; false when `owner` no longer holds it (another runner took the job over). */
  renewJobLease(jobId: string, owner: string, leaseUntil: number): Promise<boolean>;
  /** Lets go of the lease (a stopping runner), so another process may take the job at once. */
  releaseJobLease(jobId: string, owner: string): Promise<void>;
  /**
   * Up to `limit` items without an outcome, by delivery id after `afterDeliveryId`, and marks them
   * taken: started_at is set to `now` where it was null (the returned items carry the value from
   * BEFORE this call, so a non-null startedAt means an earlier runner took the item).
   */
  takeOpenJobItems(jobId: string, afterDeliveryId: string, limit: number, now: number): Promise<OpenJobItem[]>;
  /**
   * Writes outcomes, each only where the item had none (an item is counted once, whatever runs
   * twice), and marks `completed` (finishedAt = at) every job left with no open item.
   */
  recordJobItemOutcomes(results: JobItemResult[], at: number): Promise<void>;

  /**
   * Applies a sync report to the connection, creating it on its first report:
   * status := report.status; `completed` sets lastSuccessfulSyncAt := at and clears lastError;
   * `failed` sets lastError := error; `started` sets syncStartedAt := at; nextScheduledSyncAt is set
   * when report.nextScheduledAt is not undefined; updatedAt := at. Returns the connection after.
   */
  recordConnectionSync(report: ConnectionSyncReport): Promise<ConnectionRecord>;
  getConnection(accountId: string, id: string): Promise<ConnectionRecord | undefined>;
  /** The account's connections by id; the cursor is the last id of the page. */
  listConnections(
    accountId: string,
    page: { cursor?: string | undefined; limit: number } & TenantFilter,
  ): Promise<Page<ConnectionRecord>>;

  /** Creates the tenant, or updates its name and metadata; `created` says which. */
  putTenant(tenant: {
    accountId: string;
    id: string;
    name: string;
    metadata: Record<string, unknown>;
    at: number;
  }): Promise<{ tenant: TenantRecord; created: boolean }>;
  getTenant(accountId: string, id: string): Promise<TenantRecord | undefined>;
  /** The account's tenants by id; the cursor is the last id of the page. */
  listTenants(accountId: string, page: { cursor?: string | undefined; limit: number }): Promise<Page<TenantRecord>>;
  /**
   * Deletes the tenant, its portal sessions and its endpoints (as deleteEndpoint does: their
   * pending deliveries become failed), in ONE transaction. False when there was no such tenant.
   */
  deleteTenant(accountId: string, id: string, at: number): Promise<boolean>;
  createPortalSession(session: PortalSessionRecord): Promise<void>;
  findPortalSessionByHash(hash: string): Promise<PortalSessionRecord | undefined>;
  /** Ends every session of the tenant; returns how many there were. */
  deletePortalSessions(accountId: string, tenantId: string): Promise<number>;
}
