package lake

import (
	"context"
	"fmt"

	"github.com/kithhq/kith"
)

// Object is one object of the lake as read: its name, size and lines.
type Object struct {
	Name  string
	Bytes int
	Lines []kith.LakeLine
}

// ReadObjects reads and decodes every object under prefix, in name order: a
// partition (kith.LakePrefix) for `starter lake`, the whole lake ("raw/") for
// the demo's and the tests' checks.
func ReadObjects(ctx context.Context, b kith.LakeBucket, prefix string) ([]Object, error) {
	names, err := b.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]Object, 0, len(names))
	for _, name := range names {
		data, err := b.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		lines, err := kith.DecodeLakeObject(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, Object{Name: name, Bytes: len(data), Lines: lines})
	}
	return out, nil
}
