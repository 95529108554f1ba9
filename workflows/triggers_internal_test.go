package workflows

import (
	"reflect"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/schemas"
)

// The trigger-rules marker is written as kith.Triggers always was, so histories
// recorded before recordedTriggers replay; a change of rules is read as the
// change, not as the rules decoded before it.
func TestRecordedTriggersAreWrittenAsTriggersAndReadAfresh(t *testing.T) {
	tr, err := kith.LoadTriggers(schemas.Triggers, schemas.Messaging)
	if err != nil {
		t.Fatal(err)
	}
	dc := converter.GetDefaultDataConverter()
	plain, err := dc.ToPayload(tr)
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := dc.ToPayload(recordedTriggers{tr})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(plain, recorded) {
		t.Fatalf("the marker is written differently:\n%s\n%s", plain.Data, recorded.Data)
	}
	changed := tr
	changed.Version, changed.Rules = "changed", tr.Rules[:1]
	other, err := dc.ToPayload(recordedTriggers{changed})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		payload *commonpb.Payload
		want    kith.Triggers
	}{{recorded, tr}, {recorded, tr}, {other, changed}, {plain, tr}} {
		var got recordedTriggers
		if err := dc.FromPayload(c.payload, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Triggers, c.want) {
			t.Errorf("read %d: version %q with %d rules, want %q with %d", i, got.Version, len(got.Rules), c.want.Version, len(c.want.Rules))
		}
	}
}
