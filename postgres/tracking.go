package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// AppendEvents implements kith.EventLog in one transaction: the events (a
// stored event_id is skipped) and the outbox rows of the new ones relay marks.
func (s *Store) AppendEvents(ctx context.Context, events []kith.Event, relay []bool) ([]bool, error) {
	fresh := make([]bool, len(events))
	if len(events) == 0 {
		return fresh, nil
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		stored, err := appendEvents(ctx, tx, events)
		if err != nil {
			return err
		}
		var ids []string
		for i, e := range events {
			fresh[i] = stored[e.EventID]
			if fresh[i] && i < len(relay) && relay[i] {
				ids = append(ids, e.EventID)
			}
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

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
}

// appendEvents inserts events with one statement and returns the ids it stored
// (an id stored before, or twice in the batch, is stored once).
func appendEvents(ctx context.Context, tx *sqlx.Tx, events []kith.Event) (map[string]bool, error) {
	n := len(events)
	ids, contacts, anon, types, sources, occurred := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	props, calls, writeSources, messages, users, contexts, traits, sent, received := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	machine := make([]bool, n)
	jsonOr := func(b []byte) string {
		if len(b) == 0 {
			return "{}"
		}
		return string(b)
	}
	for i, e := range events {
		if e.EventID == "" || e.Type == "" {
			return nil, kith.Errorf(kith.CodeInvalid, "event needs an event_id and a type")
		}
		ids[i], contacts[i], anon[i], types[i], sources[i], occurred[i] = e.EventID, e.ContactID, e.AnonymousID, e.Type, string(e.Source), timestamp(e.OccurredAt)
		props[i], contexts[i], traits[i] = jsonOr(e.Properties), jsonOr(e.Context), jsonOr(e.Traits)
		calls[i], writeSources[i], messages[i], users[i] = e.Call, e.WriteSource, e.MessageID, e.UserID
		sent[i], received[i], machine[i] = timestamp(e.SentAt), timestamp(e.ReceivedAt), e.Machine
		if calls[i] == "" {
			calls[i] = "track"
		}
	}
	rows, err := tx.QueryContext(ctx, `
		INSERT INTO events (event_id, contact_id, anonymous_id, type, source, occurred_at, properties,
			call, write_source, message_id, user_id, context, traits, sent_at, received_at, machine)
		SELECT id, COALESCE(NULLIF(c, '')::uuid, known.contact_id, byuser.contact_id),
			NULLIF(a, ''), t, s, o::timestamptz, p::jsonb,
			k, NULLIF(w, ''), NULLIF(m, ''), NULLIF(u, ''), x::jsonb, tr::jsonb, NULLIF(sa, '')::timestamptz,
			COALESCE(NULLIF(r, '')::timestamptz, now()), mc
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bool[])
			AS v(id, c, a, t, s, o, p, k, w, m, u, x, tr, sa, r, mc)
		-- The contact of an anonymous id already linked, looked up once per id.
		LEFT JOIN (SELECT i.value, i.contact_id FROM identities i
			WHERE i.kind = 'anonymous' AND i.namespace = '' AND i.value = ANY($3::text[])) known ON known.value = v.a
		-- And of a user id a trusted identify or alias linked.
		LEFT JOIN (SELECT i.value, i.contact_id FROM identities i
			WHERE i.kind = 'user' AND i.namespace = '' AND i.value = ANY($11::text[])) byuser ON byuser.value = v.u
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

// EventWriter is a group commit in front of an event log: concurrent requests
// queue their events, one writer stores everything queued (up to MaxBatch
// events) in one transaction, and each request is answered after that commit.
// The queue is bounded: when it is full, Append answers kith.CodeBusy at once
// (the API says 503 and Retry-After) instead of buffering without limit.
type EventWriter struct {
	Log kith.EventLog
	// MaxBatch bounds the events of one transaction (default 5,000); Queue the
	// requests waiting (default 1,024); Writers the transactions in flight at
	// once (default 2: one fills while the other commits).
	MaxBatch, Queue, Writers int

	once sync.Once
	reqs chan *appendReq
}

type appendReq struct {
	ctx    context.Context
	events []kith.Event
	relay  []bool
	fresh  []bool
	err    error
	done   chan struct{}
}

// AppendEvents implements kith.EventLog.
func (w *EventWriter) AppendEvents(ctx context.Context, events []kith.Event, relay []bool) ([]bool, error) {
	w.once.Do(w.start)
	r := &appendReq{ctx: ctx, events: events, relay: relay, done: make(chan struct{})}
	select {
	case w.reqs <- r:
	default:
		return nil, kith.Errorf(kith.CodeBusy, "too many events are waiting to be stored; retry in a second")
	}
	select {
	case <-r.done:
		return r.fresh, r.err
	case <-ctx.Done():
		// The write may still commit: the sender retries with the same message
		// ids, which then count as duplicates.
		return nil, ctx.Err()
	}
}

func (w *EventWriter) start() {
	if w.MaxBatch <= 0 {
		w.MaxBatch = 5000
	}
	if w.Queue <= 0 {
		w.Queue = 1024
	}
	if w.Writers <= 0 {
		w.Writers = 2
	}
	w.reqs = make(chan *appendReq, w.Queue)
	for range w.Writers {
		go w.loop()
	}
}

// loop writes whatever is queued: the first request, then every request that
// arrived meanwhile, up to MaxBatch events. No timer: under load the batches
// grow by themselves, when idle a request is written at once.
func (w *EventWriter) loop() {
	for first := range w.reqs {
		batch := []*appendReq{first}
		n := len(first.events)
	gather:
		for n < w.MaxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
				n += len(r.events)
			default:
				break gather
			}
		}
		w.write(batch, n)
	}
}

func (w *EventWriter) write(batch []*appendReq, n int) {
	var live []*appendReq
	events, relay := make([]kith.Event, 0, n), make([]bool, 0, n)
	for _, r := range batch {
		if r.ctx.Err() != nil { // its sender gave up before the write: nothing acknowledged
			r.err = r.ctx.Err()
			close(r.done)
			continue
		}
		live = append(live, r)
		events = append(events, r.events...)
		for i := range r.events {
			relay = append(relay, i < len(r.relay) && r.relay[i])
		}
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	fresh, err := w.Log.AppendEvents(ctx, events, relay)
	cancel()
	// One message twice in a batch (two requests racing with the same ids): the
	// first occurrence is the new one.
	seen := make(map[string]bool, len(events))
	off := 0
	for _, r := range live {
		r.err = err
		if err == nil {
			r.fresh = make([]bool, len(r.events))
			for i, e := range r.events {
				r.fresh[i] = fresh[off+i] && !seen[e.EventID]
				seen[e.EventID] = true
			}
		}
		off += len(r.events)
		close(r.done)
	}
}

// PendingEvents implements kith.EventRelayStore.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]kith.RelayedEvent, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT o.id, COALESCE(o.contact_id, (SELECT i.contact_id FROM identities i
				WHERE i.kind = 'anonymous' AND i.namespace = '' AND i.value = o.anonymous_id))::text,
			o.event_id, o.type, o.occurred_at
		FROM event_outbox o ORDER BY o.id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kith.RelayedEvent
	for rows.Next() {
		var e kith.RelayedEvent
		var contact *string
		if err := rows.Scan(&e.ID, &contact, &e.Notice.EventID, &e.Notice.Type, &e.Notice.At); err != nil {
			return nil, err
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
