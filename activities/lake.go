package activities

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
)

// ErrLakeNotConfigured is the application error type of a lake activity on a
// worker with no bucket (KITH_LAKE_BUCKET). It is not retried.
const ErrLakeNotConfigured = "LakeNotConfigured"

// Lake archives the spool to the bucket, expires old partitions, erases a
// person's lines and replays archived payloads through today's rules.
type Lake struct {
	Store kith.LakeStore
	// Bucket is the lake (nil: this deployment keeps no lake; archiving fails
	// and an erasure notes there was nothing to erase).
	Bucket kith.LakeBucket
	// Hasher hashes the identifiers an erasure looks for.
	Hasher kith.IdentityHasher
	// Replay re-runs archived records (nil: replay refused).
	Replay *Replayer
	// RetentionDays is the default age past which ExpireLake deletes objects
	// (KITH_LAKE_RETENTION_DAYS; 0 keeps them), when the run does not say.
	RetentionDays int
	Now           func() time.Time
}

func (a *Lake) bucket() (kith.LakeBucket, error) {
	if a.Bucket == nil {
		return nil, temporal.NewNonRetryableApplicationError("this worker has no lake bucket: set KITH_LAKE_BUCKET (and STORAGE_EMULATOR_HOST for fake-gcs-server)", ErrLakeNotConfigured, nil)
	}
	return a.Bucket, nil
}

// LakeArchiveInput bounds the objects an archive run writes.
type LakeArchiveInput struct {
	// MaxLines and MaxBytes bound one object (defaults 50,000 lines, 64 MiB of
	// payload): a bounded object is one upload and one read for a replay.
	MaxLines int `json:"max_lines,omitempty"`
	MaxBytes int `json:"max_bytes,omitempty"`
}

// LakeArchiveResult counts what an archive run wrote, and where its time went
// (milliseconds by step: sealing objects in PostgreSQL, reading their
// segments, uploading them and marking them uploaded); it is also its
// heartbeat, which the Temporal UI shows.
type LakeArchiveResult struct {
	Objects  int   `json:"objects"`
	Lines    int   `json:"lines"`
	Bytes    int64 `json:"bytes"`
	SealMS   int64 `json:"seal_ms"`
	ReadMS   int64 `json:"read_ms"`
	UploadMS int64 `json:"upload_ms"`
}

// ArchiveSpool writes the spool to the bucket until nothing waits. Each
// object is sealed first (its lines fixed in PostgreSQL under a name made of
// its source, hour and first spool id), then uploaded whole, then marked: a
// crash between the steps uploads the same lines under the same name again
// (objects a crashed attempt left sealed go first), so a line is never
// missing and never in two objects. The next object is sealed and read
// while one uploads. (Streaming an object's segments into its upload as they
// are read was slower: the two then wait on each other.)
func (a *Lake) ArchiveSpool(ctx context.Context, in LakeArchiveInput) (LakeArchiveResult, error) {
	b, err := a.bucket()
	if err != nil {
		return LakeArchiveResult{}, err
	}
	maxLines, maxBytes := in.MaxLines, in.MaxBytes
	if maxLines <= 0 {
		maxLines = 50_000
	}
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	var res LakeArchiveResult
	if activity.HasHeartbeatDetails(ctx) {
		activity.GetHeartbeatDetails(ctx, &res)
	}
	pending, err := a.Store.PendingLakeObjects(ctx)
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type readObject struct {
		name       string
		data       *bytes.Buffer
		lines      int
		seal, read time.Duration
	}
	// Objects are read into buffers the uploader hands back: tens of MB a
	// minute not allocated (and collected) again.
	ready, uploaded, free := make(chan readObject, 1), make(chan struct{}), make(chan *bytes.Buffer, 2)
	go func() { // the uploader: one object at a time, in the order sealed; res is its own until it closes uploaded
		defer close(uploaded)
		for o := range ready {
			t, size := time.Now(), int64(o.data.Len())
			err := b.Put(ctx, o.name, o.data.Bytes())
			if err == nil {
				err = a.Store.LakeObjectUploaded(ctx, o.name, o.lines, size)
			}
			select {
			case free <- o.data:
			default: // two kept are enough
			}
			if err != nil {
				cancel(err) // the sealer stops at its next step
				return
			}
			res.SealMS += o.seal.Milliseconds()
			res.ReadMS += o.read.Milliseconds()
			res.UploadMS += time.Since(t).Milliseconds()
			res.Objects, res.Lines, res.Bytes = res.Objects+1, res.Lines+o.lines, res.Bytes+size
			activity.RecordHeartbeat(ctx, res)
		}
	}()
	err = func() (err error) {
		defer close(ready)
		for ctx.Err() == nil {
			t0 := time.Now()
			obj, ok := kith.LakeObject{}, len(pending) > 0
			if ok {
				obj, pending = pending[0], pending[1:]
			} else if obj, ok, err = a.Store.SealLakeObject(ctx, maxLines, maxBytes); err != nil || !ok {
				return err
			}
			t1 := time.Now()
			// The lines were compressed when they were spooled: the object is
			// their segments joined (reading it is its encoding).
			buf := new(bytes.Buffer)
			select {
			case buf = <-free:
				buf.Reset()
			default:
			}
			lines, _, err := a.Store.WriteLakeObject(ctx, obj.Name, buf)
			if err != nil {
				return err
			}
			select {
			case ready <- readObject{name: obj.Name, data: buf, lines: lines, seal: t1.Sub(t0), read: time.Since(t1)}:
			case <-ctx.Done():
			}
		}
		return nil
	}()
	<-uploaded
	return res, cmp.Or(err, context.Cause(ctx))
}

// ExpireInput says how long archived lines stay in the spool and objects in
// the lake.
type ExpireInput struct {
	// SpoolHours keeps archived lines this long in the spool (default 24): a
	// day to look at what was archived before it is only in the bucket.
	SpoolHours int `json:"spool_hours,omitempty"`
	// RetentionDays deletes objects of days older than this (0: kept forever).
	RetentionDays int `json:"retention_days,omitempty"`
}

// ExpireResult counts what ExpireLake deleted.
type ExpireResult struct {
	SpoolTrimmed   int64 `json:"spool_trimmed"`
	ObjectsDeleted int   `json:"objects_deleted"`
}

// ExpireLake trims archived lines from the spool and deletes the objects of
// partitions past the retention age.
func (a *Lake) ExpireLake(ctx context.Context, in ExpireInput) (ExpireResult, error) {
	var res ExpireResult
	now := a.Now().UTC()
	hours := in.SpoolHours
	if hours <= 0 {
		hours = 24
	}
	n, err := a.Store.TrimLakeSpool(ctx, now.Add(-time.Duration(hours)*time.Hour))
	res.SpoolTrimmed = n
	if in.RetentionDays <= 0 {
		in.RetentionDays = a.RetentionDays
	}
	if err != nil || in.RetentionDays <= 0 {
		return res, err
	}
	b, err := a.bucket()
	if err != nil {
		return res, err
	}
	// Whole days: the partition of the day that is RetentionDays old stays.
	before := now.Truncate(24*time.Hour).AddDate(0, 0, -in.RetentionDays)
	for {
		names, err := a.Store.ExpiredLakeObjects(ctx, before, 500)
		if err != nil || len(names) == 0 {
			return res, err
		}
		for _, name := range names {
			if err := b.Delete(ctx, name); err != nil {
				return res, err
			}
		}
		if err := a.Store.LakeObjectsExpired(ctx, names); err != nil {
			return res, err
		}
		res.ObjectsDeleted += len(names)
		activity.RecordHeartbeat(ctx, res)
	}
}

// EraseLake rewrites every object that names the erased person without their
// lines (deleting an object left empty), after ErasePostgres recorded the
// hashes of their identifiers and deleted their lines still in the spool. The
// receipt's lake step counts the lines and objects. Done again, it finds
// nothing left to rewrite.
func (a *Lake) EraseLake(ctx context.Context, contactID string) (kith.ErasureStep, error) {
	step := kith.ErasureStep{Store: kith.ErasureStoreLake, Removed: map[string]int64{}, At: a.Now().UTC()}
	if a.Bucket == nil {
		step.Note = "no lake configured"
		return step, a.Store.RecordErasureStep(ctx, contactID, step)
	}
	keys, objects, err := a.Store.LakeErasure(ctx, contactID)
	if err != nil {
		return step, err
	}
	erased := map[string]bool{}
	for _, k := range keys {
		erased[k] = true
	}
	for _, name := range objects {
		data, err := a.Bucket.Get(ctx, name)
		if kith.ErrorCode(err) == kith.CodeNotFound {
			if err := a.Store.LakeObjectRewritten(ctx, contactID, name, 0); err != nil {
				return step, err
			}
			continue
		}
		if err != nil {
			return step, err
		}
		lines, err := kith.DecodeLakeObject(data)
		if err != nil {
			return step, fmt.Errorf("erase from %s: %w", name, err)
		}
		n := len(lines)
		kept := a.Hasher.LakeLinesWithout(lines, erased)
		removed := n - len(kept)
		if len(kept) == 0 {
			err = a.Bucket.Delete(ctx, name)
		} else if removed > 0 {
			var out []byte
			if out, err = kith.EncodeLakeObject(kept); err == nil {
				err = a.Bucket.Put(ctx, name, out)
			}
		}
		if err != nil {
			return step, err
		}
		if err := a.Store.LakeObjectRewritten(ctx, contactID, name, len(kept)); err != nil {
			return step, err
		}
		step.Removed["lines"] += int64(removed)
		step.Removed["objects_rewritten"]++
		activity.RecordHeartbeat(ctx, step)
	}
	return step, a.Store.RecordErasureStep(ctx, contactID, step)
}
