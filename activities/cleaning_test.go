package activities_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
)

type archiveStore struct{ ids []string }

func (s archiveStore) ArchiveContacts(context.Context, time.Time) (kith.ArchiveCounts, error) {
	return kith.ArchiveCounts{Inactive: len(s.ids), IDs: s.ids}, nil
}

// tellings records NotifyRunning calls; contact "gone" fails.
type tellings struct{ told []string }

func (n *tellings) NotifyContact(context.Context, kith.ProfileChange) error      { return nil }
func (n *tellings) NotifyMerged(context.Context, string, kith.MergeNotice) error { return nil }
func (n *tellings) NotifyEvent(context.Context, string, kith.EventNotice) error {
	return errors.New("not used: an archive must not start workflows")
}
func (n *tellings) NotifyRunning(_ context.Context, id string, e kith.EventNotice) error {
	if id == "gone" {
		return errors.New("unavailable")
	}
	n.told = append(n.told, id+":"+e.Type)
	return nil
}

// TestArchiveTellsRunningWorkflows: every archived contact's running workflow
// is told (and cancels its pending triggers); one that cannot be told does not
// fail the archive (the send-time check still suppresses its messages).
func TestArchiveTellsRunningWorkflows(t *testing.T) {
	n := &tellings{}
	a := &activities.Archiver{Store: archiveStore{ids: []string{"a", "gone", "b"}}, Notifier: n, Now: time.Now}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.Archive, activities.ArchiveInput{InactiveDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	var counts kith.ArchiveCounts
	v.Get(&counts)
	if counts.Inactive != 3 || !slices.Equal(n.told, []string{"a:Contact Archived", "b:Contact Archived"}) {
		t.Errorf("counts %+v, told %v", counts, n.told)
	}
}
