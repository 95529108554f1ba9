package main

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/lake"
	"github.com/kithhq/kith/workflows"
)

// demoLake archives everything the demo sent so far to the raw lake (the
// LakeArchive workflow its schedule runs every five minutes), lists the
// partitions, loads today's tracking partition into BigQuery and replays
// today's imported rows, each through the CLI an analyst or ops would use.
func demoLake(ctx context.Context, c client.Client, cfg config.Config, demoEnv []string, e env) error {
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, "==> "+format+"\n", a...) }
	say("archiving the raw lake (LakeArchive): every payload received so far, as it arrived, to gs://%s on fake-gcs-server", cfg.LakeBucket)
	var res workflows.LakeArchiveResult
	if err := execute(ctx, c, "lake-archive/demo", workflows.LakeArchiveName, workflows.LakeArchiveInput{}, &res); err != nil {
		return err
	}
	say("archived %d lines in %d objects (%d KiB gzipped); time by step: seal %d ms, read %d ms, upload %d ms",
		res.Archived.Lines, res.Archived.Objects, res.Archived.Bytes/1024, res.Archived.SealMS, res.Archived.ReadMS, res.Archived.UploadMS)
	objects, err := readLake(ctx, cfg)
	if err != nil {
		return err
	}
	type part struct{ objects, lines int }
	parts := map[string]*part{}
	verdicts := map[string]int{}
	for _, o := range objects {
		dir := o.Name[:strings.LastIndex(o.Name, "/")+1]
		if parts[dir] == nil {
			parts[dir] = &part{}
		}
		parts[dir].objects++
		parts[dir].lines += len(o.Lines)
		for _, l := range o.Lines {
			verdicts[string(l.Source)+" "+l.Verdict]++
		}
	}
	dirs := make([]string, 0, len(parts))
	for d := range parts {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		fmt.Fprintf(e.stdout, "  gs://%s/%s  %d objects, %d lines\n", cfg.LakeBucket, d, parts[d].objects, parts[d].lines)
	}
	vs := make([]string, 0, len(verdicts))
	for v, n := range verdicts {
		vs = append(vs, fmt.Sprintf("%s %d", v, n))
	}
	sort.Strings(vs)
	say("lines by source and verdict: %s", strings.Join(vs, ", "))

	cli := env{getenv: envLookup(demoEnv), stdout: e.stdout, stderr: e.stderr}
	day := time.Now().UTC().Format(time.DateOnly)
	say("an analyst's ad-hoc question: starter lake load --source tracking --dt %s", day)
	if err := runLakePartition(ctx, "load", []string{"--source", "tracking", "--dt", day}, cli); err != nil {
		return err
	}
	say("replaying today's imported rows through today's rules: starter replay --source import --from %s --to %s", day, day)
	var out bytes.Buffer
	cli.stdout = &out
	if err := runReplay(ctx, []string{"--source", "import", "--from", day, "--to", day}, cli); err != nil {
		return err
	}
	fmt.Fprint(e.stdout, out.String())
	say("(the rules did not change since the import: the replay changed nothing; after a rule fix, `--quarantined` replays only the refused rows)")
	return nil
}

// demoLakeAfterErasure archives again after Grace's erasure (her form sent
// again meanwhile) and checks no object names her.
func demoLakeAfterErasure(ctx context.Context, c client.Client, cfg config.Config, email string, e env) error {
	var res workflows.LakeArchiveResult
	if err := execute(ctx, c, "lake-archive/demo-after-erasure", workflows.LakeArchiveName, workflows.LakeArchiveInput{}, &res); err != nil {
		return err
	}
	objects, err := readLake(ctx, cfg)
	if err != nil {
		return err
	}
	lines, holding := 0, 0
	for _, o := range objects {
		lines += len(o.Lines)
		for _, l := range o.Lines {
			if bytes.Contains(bytes.ToLower(l.Payload), []byte(strings.ToLower(email))) {
				holding++
			}
		}
	}
	fmt.Fprintf(e.stdout, "==> after the erasure the lake holds %d lines in %d objects; lines naming Grace's email: %d\n", lines, len(objects), holding)
	if holding > 0 {
		return fmt.Errorf("the lake still names an erased person in %d lines", holding)
	}
	return nil
}

// readLake reads the whole lake the demo wrote.
func readLake(ctx context.Context, cfg config.Config) ([]lake.Object, error) {
	b, err := lake.Open(ctx, cfg.LakeBucket, cfg.LakeEmulator)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return lake.ReadObjects(ctx, b, "raw/")
}
