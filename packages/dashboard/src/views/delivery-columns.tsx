import type { Delivery } from '../api.js';
import { Countdown, Link, Time } from '../components.js';

/**
 * The columns that let a person act on a delivery from a list, without opening it: what was sent,
 * where, how the last attempt ended, when it was, and when the next one is due. One copy for the
 * failed list and the deliveries lists, the operator's and the portal's.
 */

/** What went wrong (or right) last: the HTTP status, else the error class (`refused`, `timeout`, …). */
export function lastOutcome(d: Delivery): string {
  const last = d.last_attempt;
  if (!last) return d.attempt_count === 0 ? 'not tried yet' : '—';
  if (last.response_status !== null) return `HTTP ${last.response_status}`;
  return last.error ?? 'no response';
}

export function DeliveryColumnHeads() {
  return (
    <>
      <th scope="col">Event type</th>
      <th scope="col" className="hide-narrow">
        Endpoint
      </th>
      <th scope="col">Last response</th>
      <th scope="col" className="hide-narrow">
        Last attempt
      </th>
      <th scope="col" className="hide-narrow">
        Next attempt
      </th>
    </>
  );
}

export function DeliveryColumns({ d }: { d: Delivery }) {
  const ok = d.last_attempt?.response_status != null && d.last_attempt.response_status < 300;
  return (
    <>
      {/* On a phone the id column is hidden: the event type opens the delivery. */}
      <td data-testid="event-type">
        <Link to={`/deliveries/${d.id}`}>{d.event_type ?? d.id}</Link>
      </td>
      <td className="hide-narrow">
        <Link to={`/endpoints/${d.endpoint_id}`}>{d.endpoint_description || d.endpoint_url || d.endpoint_id}</Link>
      </td>
      <td data-testid="last-outcome" className={ok ? undefined : 'outcome-bad'}>
        {lastOutcome(d)}
      </td>
      <td className="hide-narrow">
        <Time iso={d.last_attempt?.at ?? null} />
      </td>
      <td className="hide-narrow">
        {d.status === 'pending' ? <Countdown iso={d.next_attempt_at} /> : <span className="muted">none</span>}
      </td>
    </>
  );
}
