package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// AppendEvents implements kith.EventLog in one transaction: the events (a
// stored event_id is skipped) and the outbox rows of the new ones relay marks.
//
// New messages are the usual case, so the events are first written with COPY
// (copyEvents), the fastest way into PostgreSQL. When one of them is stored
// already (a redelivery, or one message in two requests at once) that COPY fails
// on the event_id key and the transaction is redone with the statement that
// skips stored ids (appendEvents).
func (s *Store) AppendEvents(ctx context.Context, events []kith.Event, relay []bool) ([]bool, error) {
	if len(events) == 0 {
		return []bool{}, nil
	}
	if err := checkEvents(events); err != nil {
		return nil, err
	}
	return s.appendArchived(ctx, events, relay, nil)
}

// AppendEventsArchived implements kith.ArchivingEventLog: the request's lake
// line is spooled in the transaction that stores its events, with the verdict
// they make (kith.BatchVerdict).
func (s *Store) AppendEventsArchived(ctx context.Context, events []kith.Event, relay []bool, line kith.LakeLine) ([]bool, error) {
	return s.appendArchived(ctx, events, relay, []archivedLine{{row: s.spoolRows([]kith.LakeLine{line})[0], from: 0, to: len(events)}})
}

// archivedLine is a request's lake line, ready for the spool, and the events
// (from:to) it sent.
type archivedLine struct {
	row      spoolRow
	from, to int
}

// appendArchived stores events (and spools lines, if any) in one transaction:
// one COPY, or, when an event was stored before, the statement that skips it.
func (s *Store) appendArchived(ctx context.Context, events []kith.Event, relay []bool, lines []archivedLine) ([]bool, error) {
	if len(events) == 0 {
		return []bool{}, nil
	}
	if err := checkEvents(events); err != nil {
		return nil, err
	}
	spool := func(ctx context.Context, tx *sqlx.Tx, fresh []bool) error {
		rows := make([]spoolRow, len(lines))
		for i, l := range lines {
			rows[i] = l.row
			rows[i].line.Verdict, rows[i].line.Counts = kith.BatchVerdict(fresh[l.from:l.to], maps.Clone(l.row.line.Counts))
		}
		return s.insertSpool(ctx, tx, rows)
	}
	fresh, err := s.appendLog(ctx, copyEvents, events, relay, spool)
	if isStoredEvent(err) {
		fresh, err = s.appendLog(ctx, appendEvents, events, relay, spool)
	}
	return fresh, err
}

// appendLog writes events with write and queues the new ones relay marks for
// their contacts' workflows, in one transaction.
func (s *Store) appendLog(ctx context.Context, write func(context.Context, *sqlx.Tx, []kith.Event) (map[string]bool, error),
	events []kith.Event, relay []bool, after func(context.Context, *sqlx.Tx, []bool) error) ([]bool, error) {
	fresh := make([]bool, len(events))
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		prepared, err := prepareEvents(ctx, tx, events)
		if err != nil {
			return err
		}
		stored, err := write(ctx, tx, prepared)
		if err != nil {
			return err
		}
		// One message twice in a batch (two requests racing with the same
		// ids): the first occurrence is the new one.
		var ids []string
		for i, e := range events {
			fresh[i] = stored[e.EventID]
			delete(stored, e.EventID)
			if fresh[i] && i < len(relay) && relay[i] {
				ids = append(ids, e.EventID)
			}
		}
		if err := after(ctx, tx, fresh); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		// The events' contacts as stored (an anonymous id already linked has one).
		_, err = tx.ExecContext(ctx, `INSERT INTO event_outbox (event_id, contact_id, anonymous_id, type, occurred_at)
			SELECT e.event_id, e.contact_id, e.anonymous_id, e.type, e.occurred_at
			FROM unnest($1::text[]) WITH ORDINALITY AS x(id, n) JOIN events e ON e.event_id = x.id ORDER BY x.n`,
			pq.Array(ids))
		if err != nil {
			return fmt.Errorf("queue events for contacts: %w", err)
		}
		return nil
	})
	return fresh, err
}

// checkEvents holds what every stored event has: an id, a type and a time.
func checkEvents(events []kith.Event) error {
	for _, e := range events {
		if e.EventID == "" || e.Type == "" || e.OccurredAt.IsZero() {
			return kith.Errorf(kith.CodeInvalid, "event needs an event_id, a type and an occurred_at")
		}
	}
	return nil
}

// isStoredEvent reports whether err is a write refused because an event_id is
// stored already.
func isStoredEvent(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23505" && pe.Constraint == "events_pkey"
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
}

func jsonOr(b []byte) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}

// prepareEvents is events as both writes store them: a call defaults to track,
// the receipt time to now, and an event without a contact takes the contact its
// anonymous id, or else its user id, is linked to (an identify or a form linked
// it before), as the write's transaction sees the identities.
func prepareEvents(ctx context.Context, tx *sqlx.Tx, events []kith.Event) ([]kith.Event, error) {
	anon, users := map[string]bool{}, map[string]bool{}
	for _, e := range events {
		if e.ContactID == "" && e.AnonymousID != "" {
			anon[e.AnonymousID] = true
		}
		if e.ContactID == "" && e.UserID != "" {
			users[e.UserID] = true
		}
	}
	known := map[[2]string]string{}
	if len(anon)+len(users) > 0 {
		rows, err := tx.QueryContext(ctx, `
			SELECT kind, value, contact_id FROM identities WHERE kind = 'anonymous' AND namespace = '' AND value = ANY($1::text[])
			UNION ALL
			SELECT kind, value, contact_id FROM identities WHERE kind = 'user' AND namespace = '' AND value = ANY($2::text[])`,
			pq.Array(kith.SortedKeys(anon)), pq.Array(kith.SortedKeys(users)))
		if err != nil {
			return nil, fmt.Errorf("look up the events' contacts: %w", err)
		}
		for rows.Next() {
			var kind, value, contact string
			if err := rows.Scan(&kind, &value, &contact); err != nil {
				rows.Close()
				return nil, err
			}
			known[[2]string{kind, value}] = contact
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	out := slices.Clone(events)
	for i, e := range out {
		if e.Call == "" {
			e.Call = "track"
		}
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = now
		}
		if e.ContactID == "" {
			e.ContactID = known[[2]string{"anonymous", e.AnonymousID}]
		}
		if e.ContactID == "" {
			e.ContactID = known[[2]string{"user", e.UserID}]
		}
		out[i] = e
	}
	return out, nil
}

// copyEvents writes events, all new, with COPY and returns their ids; an id
// stored before fails the COPY.
func copyEvents(ctx context.Context, tx *sqlx.Tx, events []kith.Event) (map[string]bool, error) {
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("events", "event_id", "contact_id", "anonymous_id", "type", "source", "occurred_at",
		"properties", "call", "write_source", "message_id", "user_id", "context", "traits", "sent_at", "received_at", "machine"))
	if err != nil {
		return nil, fmt.Errorf("append events: %w", err)
	}
	defer stmt.Close()
	orNull := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	stored := make(map[string]bool, len(events))
	for _, e := range events {
		var sent any
		if !e.SentAt.IsZero() {
			sent = e.SentAt
		}
		if _, err := stmt.ExecContext(ctx, e.EventID, orNull(e.ContactID), orNull(e.AnonymousID), e.Type, string(e.Source), e.OccurredAt,
			jsonOr(e.Properties), e.Call, orNull(e.WriteSource), orNull(e.MessageID), orNull(e.UserID), jsonOr(e.Context), jsonOr(e.Traits),
			sent, e.ReceivedAt, e.Machine); err != nil {
			return nil, fmt.Errorf("append events: %w", err)
		}
		stored[e.EventID] = true
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("append events: %w", err)
	}
	return stored, nil
}

// appendEvents inserts events with one statement and returns the ids it stored
// (an id stored before, or twice in the batch, is stored once).
func appendEvents(ctx context.Context, tx *sqlx.Tx, events []kith.Event) (map[string]bool, error) {
	n := len(events)
	ids, contacts, anon, types, sources, occurred := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	props, calls, writeSources, messages, users, contexts, traits, sent, received := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	machine := make([]bool, n)
	for i, e := range events {
		ids[i], contacts[i], anon[i], types[i], sources[i], occurred[i] = e.EventID, e.ContactID, e.AnonymousID, e.Type, string(e.Source), timestamp(e.OccurredAt)
		props[i], contexts[i], traits[i] = jsonOr(e.Properties), jsonOr(e.Context), jsonOr(e.Traits)
		calls[i], writeSources[i], messages[i], users[i] = e.Call, e.WriteSource, e.MessageID, e.UserID
		sent[i], received[i], machine[i] = timestamp(e.SentAt), timestamp(e.ReceivedAt), e.Machine
	}
	rows, err := tx.QueryContext(ctx, `
		INSERT INTO events (event_id, contact_id, anonymous_id, type, source, occurred_at, properties,
			call, write_source, message_id, user_id, context, traits, sent_at, received_at, machine)
		SELECT id, NULLIF(c, '')::uuid,
			NULLIF(a, ''), t, s, o::timestamptz, p::jsonb,
			k, NULLIF(w, ''), NULLIF(m, ''), NULLIF(u, ''), x::jsonb, tr::jsonb, NULLIF(sa, '')::timestamptz,
			r::timestamptz, mc
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bool[])
			AS v(id, c, a, t, s, o, p, k, w, m, u, x, tr, sa, r, mc)
		ON CONFLICT (event_id) DO NOTHING
		RETURNING event_id`,
		pq.Array(ids), pq.Array(contacts), pq.Array(anon), pq.Array(types), pq.Array(sources), pq.Array(occurred), pq.Array(props),
		pq.Array(calls), pq.Array(writeSources), pq.Array(messages), pq.Array(users), pq.Array(contexts), pq.Array(traits),
		pq.Array(sent), pq.Array(received), pq.Array(machine))
	if err != nil {
		return nil, fmt.Errorf("append events: %w", err)
	}
	defer rows.Close()
	stored := make(map[string]bool, n)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		stored[id] = true
	}
	return stored, rows.Err()
}

// EventWriter is a group commit (groupCommit) in front of an event log:
// concurrent requests queue their events, one writer stores everything queued
// (up to MaxBatch events) in one transaction, and each request is answered
// after that commit; a full queue answers kith.CodeBusy at once.
type EventWriter struct {
	Log kith.EventLog
	// MaxBatch bounds the events of one transaction (default 5,000); Queue the
	// requests waiting (default 1,024); Writers the transactions in flight at
	// once (default 2: one fills while the other commits).
	MaxBatch, Queue, Writers int

	once sync.Once
	gc   *groupCommit[relayedEvent, bool]
}

// relayedEvent is an event and whether to relay it to its contact's workflow;
// a request's first event carries the request's lake line, if it has one, and
// how many events the request sent.
type relayedEvent struct {
	event kith.Event
	relay bool
	row   *spoolRow
	n     int
}

// AppendEvents implements kith.EventLog.
func (w *EventWriter) AppendEvents(ctx context.Context, events []kith.Event, relay []bool) ([]bool, error) {
	w.init()
	return w.gc.do(ctx, relayedEvents(events, relay, nil))
}

func (w *EventWriter) init() {
	w.once.Do(func() {
		w.gc = &groupCommit[relayedEvent, bool]{maxBatch: w.MaxBatch, queue: w.Queue, writers: w.Writers,
			busy: "too many events are waiting to be stored; retry in a second",
			write: func(ctx context.Context, items []relayedEvent) ([]bool, error) {
				events, relay := make([]kith.Event, len(items)), make([]bool, len(items))
				var lines []archivedLine
				for i, it := range items {
					events[i], relay[i] = it.event, it.relay
					if it.row != nil {
						lines = append(lines, archivedLine{row: *it.row, from: i, to: i + it.n})
					}
				}
				if len(lines) == 0 {
					return w.Log.AppendEvents(ctx, events, relay)
				}
				// Lines come only through AppendEventsArchived, which checked the log.
				return w.Log.(*Store).appendArchived(ctx, events, relay, lines)
			}}
	})
}

// AppendEventsArchived implements kith.ArchivingEventLog: the request's lake
// line goes into the transaction of the group commit its events are in.
func (w *EventWriter) AppendEventsArchived(ctx context.Context, events []kith.Event, relay []bool, line kith.LakeLine) ([]bool, error) {
	store, ok := w.Log.(*Store)
	if !ok {
		return nil, fmt.Errorf("events with lake lines need the PostgreSQL store, not %T", w.Log)
	}
	w.init()
	// Prepared here, on the request's goroutine: the writer only writes.
	row := store.spoolRows([]kith.LakeLine{line})[0]
	return w.gc.do(ctx, relayedEvents(events, relay, &row))
}

func relayedEvents(events []kith.Event, relay []bool, row *spoolRow) []relayedEvent {
	items := make([]relayedEvent, len(events))
	for i, e := range events {
		items[i] = relayedEvent{event: e, relay: i < len(relay) && relay[i]}
	}
	if row != nil && len(items) > 0 {
		items[0].row, items[0].n = row, len(items)
	}
	return items
}

// PendingEvents implements kith.EventRelayStore.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]kith.RelayedEvent, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT o.id, COALESCE(o.contact_id, (SELECT i.contact_id FROM identities i
				WHERE i.kind = 'anonymous' AND i.namespace = '' AND i.value = o.anonymous_id))::text,
			o.event_id, o.type, o.occurred_at, COALESCE(e.properties::text, '{}'), COALESCE(e.context ->> 'timezone', '')
		FROM event_outbox o LEFT JOIN events e ON e.event_id = o.event_id ORDER BY o.id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kith.RelayedEvent
	for rows.Next() {
		var e kith.RelayedEvent
		var contact *string
		var props string
		if err := rows.Scan(&e.ID, &contact, &e.Notice.EventID, &e.Notice.Type, &e.Notice.At, &props, &e.Notice.TimeZone); err != nil {
			return nil, err
		}
		if props != "{}" {
			e.Notice.Properties = json.RawMessage(props)
		}
		if contact != nil {
			e.ContactID = *contact
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RelayedEvents implements kith.EventRelayStore.
func (s *Store) RelayedEvents(ctx context.Context, ids []int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM event_outbox WHERE id = ANY($1)`, pq.Array(ids))
	return err
}
