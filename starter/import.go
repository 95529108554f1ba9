package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/quality"
	"github.com/kithhq/kith/workflows"
)

func runImport(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	batch := fs.Int("batch", activities.DefaultImportBatch, "rows per committed batch")
	detach := fs.Bool("detach", false, "start the import and return without waiting")
	region := fs.String("region", "", "ISO country for phones and dates of rows without a country (e.g. US)")
	regions := fs.String("regions", "", "comma-separated countries the file's contacts live in: a national phone valid in exactly one of them is read there (e.g. NO,SE,GB)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: starter import [-batch N] [-detach] [-region CC] [-regions CC,CC] contacts.csv")
		fmt.Fprintln(e.stderr, "The file needs a header row with an email or a phone column; the worker must be able to read the path.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if fs.NArg() != 1 {
		return usagef("import takes one CSV file, got %d arguments", fs.NArg())
	}
	if *batch < 1 || *batch > 10000 {
		return usagef("-batch must be between 1 and 10000")
	}
	cfg, err := config.FromEnv(e.getenv, false)
	if err != nil {
		return err
	}
	in, err := prepareImport(fs.Arg(0), *batch)
	if err != nil {
		return err
	}
	if *region != "" {
		c, vs := quality.Country(*region)
		if c == "" {
			return usagef("-region: %s", vs.String())
		}
		in.Region = c
	}
	for _, r := range strings.Split(*regions, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		c, vs := quality.Country(r)
		if c == "" {
			return usagef("-regions: %q %s", r, vs.String())
		}
		in.Regions = append(in.Regions, c)
	}
	c, err := dialTemporal(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := startImport(ctx, c, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "import started: workflow %s run %s\n", run.GetID(), run.GetRunID())
	if *detach {
		return nil
	}
	sum, err := waitImport(ctx, c, run, in.Size, e.stderr)
	if err != nil {
		return err
	}
	printSummary(e.stdout, sum)
	return nil
}

// prepareImport checks the file before anything starts, so a wrong file gets an
// error here and not a failed workflow.
func prepareImport(path string, batch int) (workflows.ImportInput, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return workflows.ImportInput{}, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return workflows.ImportInput{}, fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return workflows.ImportInput{}, err
	}
	if !st.Mode().IsRegular() {
		return workflows.ImportInput{}, fmt.Errorf("%s is not a regular file", path)
	}
	if _, err := activities.ReadHeader(f); err != nil {
		return workflows.ImportInput{}, fmt.Errorf("%s: %w", path, err)
	}
	sum, err := activities.FileSHA256(abs)
	if err != nil {
		return workflows.ImportInput{}, err
	}
	return workflows.ImportInput{Path: abs, SHA256: sum, Size: st.Size(), BatchSize: batch, AsOf: st.ModTime().UTC()}, nil
}

func startImport(ctx context.Context, c client.Client, in workflows.ImportInput) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, workflows.ImportStartOptions(in), workflows.ImportContactsName, in)
}

// waitImport waits for the import, drawing progress from the import activity's
// heartbeats on w.
func waitImport(ctx context.Context, c client.Client, run client.WorkflowRun, size int64, w io.Writer) (workflows.ImportSummary, error) {
	done := make(chan struct{})
	bar := newProgressBar(w, size)
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if p, ok := importProgress(ctx, c, run); ok {
					bar.draw(p)
				}
			}
		}
	}()
	var sum workflows.ImportSummary
	err := run.Get(ctx, &sum)
	close(done)
	bar.finish()
	if err != nil {
		return sum, fmt.Errorf("import %s: %w", run.GetID(), err)
	}
	return sum, nil
}

func importProgress(ctx context.Context, c client.Client, run client.WorkflowRun) (activities.ImportProgress, bool) {
	var p activities.ImportProgress
	d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		return p, false
	}
	for _, a := range d.GetPendingActivities() {
		if a.GetHeartbeatDetails() == nil {
			continue
		}
		if err := converter.GetDefaultDataConverter().FromPayloads(a.GetHeartbeatDetails(), &p); err == nil {
			return p, true
		}
	}
	return p, false
}

// progressBar draws on a terminal in place; elsewhere it prints a line now and then.
type progressBar struct {
	w        io.Writer
	size     int64
	tty      bool
	last     time.Time
	drawn    bool
	lastRows int
}

func newProgressBar(w io.Writer, size int64) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, size: size, tty: tty}
}

func (b *progressBar) draw(p activities.ImportProgress) {
	cp := p.Checkpoint
	if cp.Row == b.lastRows {
		return
	}
	b.lastRows = cp.Row
	frac := 0.0
	if b.size > 0 {
		frac = min(1, float64(cp.Offset)/float64(b.size))
	}
	const width = 30
	n := int(frac * width)
	line := fmt.Sprintf("[%s%s] %3.0f%%  %d rows  (%d new, %d updated, %d quarantined)",
		strings.Repeat("#", n), strings.Repeat("-", width-n), frac*100, cp.Row, cp.Created, cp.Updated, cp.Quarantined)
	if b.tty {
		fmt.Fprintf(b.w, "\r%s", line)
		b.drawn = true
		return
	}
	if time.Since(b.last) >= 2*time.Second {
		fmt.Fprintln(b.w, line)
		b.last = time.Now()
	}
}

func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

func printSummary(w io.Writer, s workflows.ImportSummary) {
	fmt.Fprintf(w, "import done: %d rows: %d imported (new), %d updated, %d unchanged, %d with refused values quarantined (%d of them made no contact)\n",
		s.Rows, s.Created, s.Updated, s.Unchanged, s.Quarantined, s.Skipped)
}
