package workflows_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kithhq/kith/workflows"
)

// names records the wire names a registry was given.
type names struct {
	worker.WorkflowReplayer
	registered []string
}

func (n *names) RegisterWorkflowWithOptions(w any, o workflow.RegisterOptions) {
	n.registered = append(n.registered, o.Name)
	n.WorkflowReplayer.RegisterWorkflowWithOptions(w, o)
}

// historyType is the workflow type a recorded history starts.
func historyType(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Events []struct {
			Attrs *struct {
				WorkflowType struct{ Name string } `json:"workflowType"`
			} `json:"workflowExecutionStartedEventAttributes"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &h); err != nil || len(h.Events) == 0 || h.Events[0].Attrs == nil {
		t.Fatalf("%s: not a recorded history that starts a workflow (%v)", file, err)
	}
	return h.Events[0].Attrs.WorkflowType.Name
}

// TestReplay replays every history recorded from real runs (workflows/testdata)
// with the workflows the worker registers: a failure here means a deploy of this
// code would break workflows that are running now. Every registered workflow must
// have at least one history, so a new workflow cannot be missed.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	r := &names{WorkflowReplayer: worker.NewWorkflowReplayer()}
	workflows.RegisterWorkflows(r)
	covered := map[string]bool{}
	for _, file := range files {
		covered[historyType(t, file)] = true
		t.Run(filepath.Base(file), func(t *testing.T) {
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatal(err)
			}
		})
	}
	slices.Sort(r.registered)
	for _, name := range r.registered {
		if !covered[name] {
			t.Errorf("no recorded history of %s in workflows/testdata: record one (see testdata/README.md)", name)
		}
	}
}
