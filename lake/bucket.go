// Package lake is the raw lake's object store: a Google Cloud Storage bucket
// (kith.LakeBucket) through cloud.google.com/go/storage, or fake-gcs-server
// speaking the same JSON API for tests and the demo.
package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/kithhq/kith"
)

// Bucket is a GCS bucket holding the lake.
type Bucket struct {
	client *storage.Client
	bucket *storage.BucketHandle
	Name   string
}

// Open connects to the bucket named name: on GCS with application default
// credentials, or on the emulator at emulator (host:port, no credentials),
// where the bucket is created when it does not exist yet.
func Open(ctx context.Context, name, emulator string) (*Bucket, error) {
	if name == "" {
		return nil, errors.New("lake: no bucket named (KITH_LAKE_BUCKET)")
	}
	var opts []option.ClientOption
	if emulator != "" {
		// JSON API reads: the XML API reads go to another host, which the
		// emulator does not answer as GCS does.
		opts = append(opts, option.WithEndpoint("http://"+emulator+"/storage/v1/"), option.WithoutAuthentication(), storage.WithJSONReads())
	}
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("lake: connect to GCS: %w", err)
	}
	b := &Bucket{client: c, bucket: c.Bucket(name), Name: name}
	if emulator != "" {
		if _, err := b.bucket.Attrs(ctx); errors.Is(err, storage.ErrBucketNotExist) {
			if err := b.bucket.Create(ctx, "kith-local", nil); err != nil {
				c.Close()
				return nil, fmt.Errorf("lake: create bucket %s on the emulator: %w", name, err)
			}
		} else if err != nil {
			c.Close()
			return nil, fmt.Errorf("lake: bucket %s on the emulator at %s: %w", name, emulator, err)
		}
	}
	return b, nil
}

// Close closes the client.
func (b *Bucket) Close() error { return b.client.Close() }

// Put implements kith.LakeBucket. Objects are stored gzipped as they are
// (application/gzip, no Content-Encoding), so readers get the bytes written
// and BigQuery reads them as compressed newline-delimited JSON.
func (b *Bucket) Put(ctx context.Context, name string, data []byte) error {
	w := b.bucket.Object(name).NewWriter(ctx)
	w.ContentType = "application/gzip"
	w.ChunkSize = 0 // one request: objects are bounded in size
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		w.Close()
		return fmt.Errorf("lake: write %s: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("lake: write %s: %w", name, err)
	}
	return nil
}

// Get implements kith.LakeBucket.
func (b *Bucket) Get(ctx context.Context, name string) ([]byte, error) {
	r, err := b.bucket.Object(name).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, kith.Errorf(kith.CodeNotFound, "no object %s in bucket %s", name, b.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("lake: read %s: %w", name, err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

// List implements kith.LakeBucket.
func (b *Bucket) List(ctx context.Context, prefix string) ([]string, error) {
	it := b.bucket.Objects(ctx, &storage.Query{Prefix: prefix})
	var out []string
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("lake: list %s: %w", prefix, err)
		}
		out = append(out, a.Name)
	}
}

// Delete implements kith.LakeBucket.
func (b *Bucket) Delete(ctx context.Context, name string) error {
	err := b.bucket.Object(name).Delete(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lake: delete %s: %w", name, err)
	}
	return nil
}
