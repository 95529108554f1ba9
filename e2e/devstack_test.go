package e2e_test

import (
	"context"
	"strings"
	"testing"

	"go.temporal.io/api/operatorservice/v1"

	"github.com/kithhq/kith/devstack"
)

// TestDevstackRegistersSearchAttributes: ops find contacts and jobs in the Web UI
// by Kith's custom search attributes, registered when the dev server starts.
func TestDevstackRegistersSearchAttributes(t *testing.T) {
	s := devstack.Require(t, stack)
	c := temporalClient(t)
	resp, err := c.OperatorService().ListSearchAttributes(context.Background(),
		&operatorservice.ListSearchAttributesRequest{Namespace: s.Temporal.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	for _, sa := range devstack.SearchAttributes {
		name, typ, _ := strings.Cut(sa, "=")
		got, ok := resp.GetCustomAttributes()[name]
		if !ok {
			t.Errorf("search attribute %s is not registered", name)
			continue
		}
		if !strings.EqualFold(strings.TrimPrefix(got.String(), "INDEXED_VALUE_TYPE_"), typ) {
			t.Errorf("search attribute %s has type %s, want %s", name, got, typ)
		}
	}
}
