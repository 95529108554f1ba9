package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/kithhq/kith"
)

// groupCommit is a group commit in front of a batch write: concurrent
// requests queue their items, one writer writes everything queued (up to
// maxBatch items) in one call, and each request is answered after that write
// with its items' results. The queue is bounded: when it is full, do answers
// kith.CodeBusy at once (the API says 503 and Retry-After) instead of
// buffering without limit. No timer: under load the batches grow by
// themselves, when idle a request is written at once.
type groupCommit[T, R any] struct {
	write func(ctx context.Context, items []T) ([]R, error)
	// busy is what a full queue answers.
	busy string
	// maxBatch bounds the items of one write (default 5,000); queue the
	// requests waiting (default 1,024); writers the writes in flight at once
	// (default 2: one fills while the other commits).
	maxBatch, queue, writers int

	once sync.Once
	reqs chan *groupReq[T, R]
}

type groupReq[T, R any] struct {
	ctx   context.Context
	items []T
	out   []R
	err   error
	done  chan struct{}
}

func (g *groupCommit[T, R]) do(ctx context.Context, items []T) ([]R, error) {
	g.once.Do(g.start)
	r := &groupReq[T, R]{ctx: ctx, items: items, done: make(chan struct{})}
	select {
	case g.reqs <- r:
	default:
		return nil, kith.Errorf(kith.CodeBusy, "%s", g.busy)
	}
	select {
	case <-r.done:
		return r.out, r.err
	case <-ctx.Done():
		// The write may still commit: writes are idempotent by their ids, so
		// the sender's retry finds them done.
		return nil, ctx.Err()
	}
}

func (g *groupCommit[T, R]) start() {
	if g.maxBatch <= 0 {
		g.maxBatch = 5000
	}
	if g.queue <= 0 {
		g.queue = 1024
	}
	if g.writers <= 0 {
		g.writers = 2
	}
	g.reqs = make(chan *groupReq[T, R], g.queue)
	for range g.writers {
		go g.loop()
	}
}

// loop writes whatever is queued: the first request, then every request that
// arrived meanwhile, up to maxBatch items.
func (g *groupCommit[T, R]) loop() {
	for first := range g.reqs {
		batch := []*groupReq[T, R]{first}
		n := len(first.items)
	gather:
		for n < g.maxBatch {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
				n += len(r.items)
			default:
				break gather
			}
		}
		g.flush(batch, n)
	}
}

func (g *groupCommit[T, R]) flush(batch []*groupReq[T, R], n int) {
	var live []*groupReq[T, R]
	items := make([]T, 0, n)
	for _, r := range batch {
		if r.ctx.Err() != nil { // its sender gave up before the write: nothing acknowledged
			r.err = r.ctx.Err()
			close(r.done)
			continue
		}
		live = append(live, r)
		items = append(items, r.items...)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	out, err := g.write(ctx, items)
	cancel()
	off := 0
	for _, r := range live {
		r.err = err
		if err == nil && out != nil {
			r.out = out[off : off+len(r.items)]
		}
		off += len(r.items)
		close(r.done)
	}
}
