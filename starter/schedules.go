package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith/schemas"
	"github.com/kithhq/kith/workflows"
)

// scheduleDef is one schedule in schemas/schedules.json.
type scheduleDef struct {
	ID            string          `json:"id"`
	Workflow      string          `json:"workflow"`
	WorkflowID    string          `json:"workflow_id"`
	Args          json.RawMessage `json:"args,omitempty"`
	Every         string          `json:"every,omitempty"`
	Cron          string          `json:"cron,omitempty"`
	Jitter        string          `json:"jitter,omitempty"`
	Overlap       string          `json:"overlap"`
	CatchupWindow string          `json:"catchup_window"`
	Note          string          `json:"note"`
}

var scheduledWorkflows = map[string]bool{workflows.CRMBackfillName: true, workflows.DeduplicateName: true, workflows.CleaningName: true,
	workflows.WarehouseLoadName: true, workflows.PersonalizationName: true, workflows.RetentionName: true, workflows.LakeArchiveName: true}

var overlapPolicies = map[string]enumspb.ScheduleOverlapPolicy{
	"skip": enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, "buffer_one": enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	"buffer_all": enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL, "cancel_other": enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	"terminate_other": enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER, "allow_all": enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

// parseSchedules reads and checks the schedule definitions.
func parseSchedules(b []byte) ([]client.ScheduleOptions, error) {
	var file struct {
		Schedules []scheduleDef `json:"schedules"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	var out []client.ScheduleOptions
	var errs []error
	seen := map[string]bool{}
	for _, d := range file.Schedules {
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("schedule %q: "+format, append([]any{d.ID}, a...)...))
		}
		if d.ID == "" || seen[d.ID] {
			bad("needs a unique id")
		}
		seen[d.ID] = true
		if !scheduledWorkflows[d.Workflow] {
			bad("unknown workflow %q", d.Workflow)
		}
		spec := client.ScheduleSpec{}
		switch {
		case (d.Every == "") == (d.Cron == ""):
			bad("give exactly one of every and cron")
		case d.Every != "":
			every, err := time.ParseDuration(d.Every)
			if err != nil || every < time.Minute {
				bad("every %q must be a duration of at least 1m", d.Every)
			}
			spec.Intervals = []client.ScheduleIntervalSpec{{Every: every}}
		default:
			spec.CronExpressions = []string{d.Cron}
		}
		var catchup time.Duration
		for _, f := range []struct {
			name, value string
			into        *time.Duration
		}{{"jitter", d.Jitter, &spec.Jitter}, {"catchup_window", d.CatchupWindow, &catchup}} {
			if f.value == "" {
				continue
			}
			dur, err := time.ParseDuration(f.value)
			if err != nil {
				bad("%s %q is not a duration", f.name, f.value)
			}
			*f.into = dur
		}
		overlap, ok := overlapPolicies[d.Overlap]
		if !ok {
			bad("overlap %q must be one of skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all", d.Overlap)
		}
		action := &client.ScheduleWorkflowAction{ID: d.WorkflowID, Workflow: d.Workflow, TaskQueue: workflows.TaskQueue}
		if len(d.Args) > 0 {
			action.Args = []any{d.Args}
		}
		out = append(out, client.ScheduleOptions{ID: d.ID, Spec: spec, Action: action, Overlap: overlap,
			CatchupWindow: catchup, Note: d.Note})
	}
	return out, errors.Join(errs...)
}

func runSchedules(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("schedules", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	file := fs.String("f", "", "schedule definitions (default: the embedded schemas/schedules.json)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: starter schedules apply [-f schedules.json] | starter schedules list")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return usagef("schedules needs apply or list")
	}
	sub := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return usagef("%v", err)
	}
	c, err := temporalFromEnv(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	switch sub {
	case "apply":
		defs := schemas.Schedules
		if *file != "" {
			if defs, err = os.ReadFile(*file); err != nil {
				return err
			}
		}
		return applySchedules(ctx, c, defs, func(id, verb string) { fmt.Fprintf(e.stdout, "%-24s %s\n", id, verb) })
	case "list":
		it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
		if err != nil {
			return err
		}
		for it.HasNext() {
			s, err := it.Next()
			if err != nil {
				return err
			}
			next := "-"
			if len(s.NextActionTimes) > 0 {
				next = s.NextActionTimes[0].Format(time.RFC3339)
			}
			fmt.Fprintf(e.stdout, "%-24s %-14s paused=%-5v next %s\n", s.ID, s.WorkflowType.Name, s.Paused, next)
		}
		return nil
	}
	return usagef("schedules: unknown %q (apply or list)", sub)
}

// applySchedules applies every schedule in defs, telling done what it did.
func applySchedules(ctx context.Context, c client.Client, defs []byte, done func(id, verb string)) error {
	scheds, err := parseSchedules(defs)
	if err != nil {
		return err
	}
	for _, s := range scheds {
		verb, err := applySchedule(ctx, c, s)
		if err != nil {
			return fmt.Errorf("schedule %s: %w", s.ID, err)
		}
		done(s.ID, verb)
	}
	return nil
}

// applySchedule creates the schedule, or updates it to the definition (its
// paused state, set by ops, is kept).
func applySchedule(ctx context.Context, c client.Client, s client.ScheduleOptions) (string, error) {
	_, err := c.ScheduleClient().Create(ctx, s)
	if err == nil {
		return "created", nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) && !isAlreadyExists(err) {
		return "", err
	}
	err = c.ScheduleClient().GetHandle(ctx, s.ID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sc := u.Description.Schedule
			sc.Spec = &s.Spec
			sc.Action = s.Action
			if sc.Policy == nil {
				sc.Policy = &client.SchedulePolicies{}
			}
			sc.Policy.Overlap = s.Overlap
			sc.Policy.CatchupWindow = s.CatchupWindow
			return &client.ScheduleUpdate{Schedule: &sc}, nil
		},
	})
	return "updated", err
}
