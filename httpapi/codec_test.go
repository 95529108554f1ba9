package httpapi_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kithhq/kith/codec"
	"github.com/kithhq/kith/workflows"
)

func TestPersonalDataIsEncryptedInTemporalHistory(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	aes, err := codec.New(key)
	if err != nil {
		t.Fatal(err)
	}
	k := newKith(t, workflows.ContactInput{}, func(o *client.Options) { o.DataConverter = aes.DataConverter() })
	const email = "private.person@example.com"
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{
		"submission_id": "codec-sub-1", "fields": map[string]string{"email": email, "phone": "+47 412 34 567"}, "consents": consentsGiven,
	}, &res); code != 200 {
		t.Fatalf("submission answered %d", code)
	}
	if view := queryContact(t, k, res.ContactID); view.Fields["email"].Value != email {
		t.Fatalf("the workflow (through the codec) sees %q", view.Fields["email"].Value)
	}

	// What Temporal stores, read without the key: no email, no phone.
	plain, err := client.DialContext(context.Background(), client.Options{HostPort: stack.Temporal.Address, Namespace: stack.Temporal.Namespace, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var h historypb.History
	it := plain.GetWorkflowHistory(context.Background(), workflows.ContactWorkflowID(res.ContactID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	raw, _ := protojson.Marshal(&h)
	for _, secret := range []string{email, "4741234567", "private.person"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("history holds %q in the clear", secret)
		}
	}
	if !strings.Contains(string(raw), "YmluYXJ5L2VuY3J5cHRlZA") { // base64 of binary/encrypted
		t.Errorf("no encrypted payloads in the history")
	}
	if len(h.Events) < 5 {
		t.Errorf("history has %d events", len(h.Events))
	}
}
