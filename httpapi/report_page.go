package httpapi

import (
	_ "embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kithhq/kith"
)

//go:embed static/report.html
var reportHTML string

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":  func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + " %" },
	"num1": func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"num2": func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
	"day":  func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"key":  func(parts ...string) string { return strings.Join(parts, "/") },
	"band": bandName,
	"bq": func(n int) string {
		if n < 0 {
			return "—"
		}
		return strconv.Itoa(n)
	},
}).Parse(reportHTML))

// WriteQualityReport writes the report as one self-contained HTML page: the
// charts are inline SVG, the figures are in tables (each number carries a
// data-k key naming what it counts, which the tests check against SQL).
func WriteQualityReport(w io.Writer, r kith.QualityReport) error {
	return reportPage.Execute(w, reportView{QualityReport: r, Charts: drawCharts(r)})
}

type reportView struct {
	kith.QualityReport
	Charts reportCharts
}

type reportCharts struct {
	Violations, Repairs, Quarantine, Dedup, Completeness, Imputed, Archived, Consent template.HTML
}

// Palette: colour-blind-safe (Okabe–Ito).
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"}

func drawCharts(r kith.QualityReport) reportCharts {
	var c reportCharts
	c.Violations = violationChart(r)
	var bars []bar
	for _, f := range r.Repairs {
		bars = append(bars, bar{Label: seriesName(f.Field, f.Code), N: f.N})
	}
	c.Repairs = hbars(bars, palette[2])
	bars = bars[:0]
	var stacks []stack
	for _, q := range r.Quarantine {
		stacks = append(stacks, stack{Label: q.Source, Parts: []bar{{Label: "open", N: q.Open}, {Label: "resolved", N: q.Resolved}}})
	}
	c.Quarantine = hstacks(stacks, false)
	d := r.Dedup
	c.Dedup = hbars([]bar{{Label: "merged (in force)", N: d.Merged}, {Label: "merges undone", N: d.Undone},
		{Label: "review: pending", N: d.ReviewPending}, {Label: "review: merged", N: d.ReviewMerged},
		{Label: "review: kept apart", N: d.ReviewApart}}, palette[0])
	c.Completeness = completenessChart(r.Completeness)
	for _, im := range r.Imputed {
		bars = append(bars, bar{Label: seriesName(im.Field, im.Method), N: im.N})
	}
	c.Imputed = hbars(bars, palette[3])
	bars = bars[:0]
	for _, a := range r.Archived {
		bars = append(bars, bar{Label: a.Key, N: a.N})
	}
	c.Archived = hbars(bars, palette[7])
	stacks = stacks[:0]
	for _, cc := range r.Consent {
		if len(stacks) == 0 || stacks[len(stacks)-1].Label != cc.Purpose {
			stacks = append(stacks, stack{Label: cc.Purpose})
		}
		s := &stacks[len(stacks)-1]
		s.Parts = append(s.Parts, bar{Label: cc.Status, N: cc.N})
	}
	c.Consent = hstacks(stacks, true)
	return c
}

type bar struct {
	Label string
	N     int
}

type stack struct {
	Label string
	Parts []bar
}

const (
	chartWidth = 640
	labelWidth = 300
	rowHeight  = 22
)

func empty() template.HTML {
	return `<p class="empty">Nothing to show yet.</p>`
}

// hbars draws one horizontal bar per item, scaled to the largest.
func hbars(bars []bar, colour string) template.HTML {
	if len(bars) == 0 {
		return empty()
	}
	most := 1
	for _, b := range bars {
		most = max(most, b.N)
	}
	var sb strings.Builder
	h := len(bars)*rowHeight + 8
	fmt.Fprintf(&sb, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d">`, chartWidth, h, chartWidth, h)
	span := float64(chartWidth - labelWidth - 60)
	for i, b := range bars {
		y := i*rowHeight + 4
		w := span * float64(b.N) / float64(most)
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelWidth-8, y+15, html.EscapeString(b.Label))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %d</title></rect>`,
			labelWidth, y+3, w, rowHeight-6, colour, html.EscapeString(b.Label), b.N)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d">%d</text>`, float64(labelWidth)+w+6, y+15, b.N)
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// hstacks draws one bar per stack, its parts side by side in the palette's
// colours (with a legend): each stack as a share of its own total, or all
// scaled to the largest total.
func hstacks(stacks []stack, share bool) template.HTML {
	if len(stacks) == 0 {
		return empty()
	}
	var names []string
	for _, s := range stacks {
		for _, p := range s.Parts {
			if !slices.Contains(names, p.Label) {
				names = append(names, p.Label)
			}
		}
	}
	colour := func(name string) string { return palette[slices.Index(names, name)%len(palette)] }
	var sb strings.Builder
	h := len(stacks)*rowHeight + 8 + rowHeight
	fmt.Fprintf(&sb, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d">`, chartWidth, h, chartWidth, h)
	span := float64(chartWidth - labelWidth - 60)
	most := 1
	for _, s := range stacks {
		t := 0
		for _, p := range s.Parts {
			t += p.N
		}
		most = max(most, t)
	}
	for i, s := range stacks {
		y := i*rowHeight + 4
		total := 0
		for _, p := range s.Parts {
			total += p.N
		}
		scale := most
		if share {
			scale = total
		}
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelWidth-8, y+15, html.EscapeString(s.Label))
		x := float64(labelWidth)
		for _, p := range s.Parts {
			if total == 0 || p.N == 0 {
				continue
			}
			w := span * float64(p.N) / float64(scale)
			fmt.Fprintf(&sb, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s, %s: %d</title></rect>`,
				x, y+3, w, rowHeight-6, colour(p.Label), html.EscapeString(s.Label), html.EscapeString(p.Label), p.N)
			x += w
		}
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d">%d</text>`, x+6, y+15, total)
	}
	legend(&sb, names, colour, len(stacks)*rowHeight+8)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

func legend(sb *strings.Builder, names []string, colour func(string) string, y int) {
	x := labelWidth
	for _, n := range names {
		fmt.Fprintf(sb, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`,
			x, y+4, colour(n), x+14, y+13, html.EscapeString(n))
		x += 24 + 7*len(n)
	}
}

// violationChart stacks each day's refused values (last 30 days) by the five
// most frequent field · code series, the rest as "other".
func violationChart(r kith.QualityReport) template.HTML {
	if len(r.ViolationsByDay) == 0 {
		return empty()
	}
	series := map[string]int{}
	for _, d := range r.ViolationsByDay {
		series[seriesName(d.Field, d.Code)] += d.N
	}
	var names []string
	for n := range series {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if series[a] != series[b] {
			return series[b] - series[a]
		}
		return strings.Compare(a, b)
	})
	if len(names) > 5 {
		names = append(names[:5], "other")
	}
	end := r.At.UTC().Truncate(24 * time.Hour)
	const days = 30
	perDay := make([]map[string]int, days)
	most := 1
	for _, d := range r.ViolationsByDay {
		i := days - 1 - int(end.Sub(d.Day.UTC().Truncate(24*time.Hour)).Hours()/24)
		if i < 0 || i >= days {
			continue
		}
		if perDay[i] == nil {
			perDay[i] = map[string]int{}
		}
		name := seriesName(d.Field, d.Code)
		if !slices.Contains(names, name) {
			name = "other"
		}
		perDay[i][name] += d.N
	}
	for _, m := range perDay {
		t := 0
		for _, n := range m {
			t += n
		}
		most = max(most, t)
	}
	colour := func(name string) string { return palette[slices.Index(names, name)%len(palette)] }
	const plotH, left, top = 160, 50, 10
	barW := float64(chartWidth-left-10) / days
	var sb strings.Builder
	h := top + plotH + 30 + rowHeight*((len(names)+2)/3)
	fmt.Fprintf(&sb, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d">`, chartWidth, h, chartWidth, h)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, left, top+plotH, chartWidth-10, top+plotH)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end">%d</text><text x="%d" y="%d" text-anchor="end">0</text>`,
		left-4, top+10, most, left-4, top+plotH)
	for i, m := range perDay {
		y := float64(top + plotH)
		for _, n := range names {
			if m[n] == 0 {
				continue
			}
			hh := float64(plotH) * float64(m[n]) / float64(most)
			y -= hh
			day := end.AddDate(0, 0, i-days+1).Format("2006-01-02")
			fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %d</title></rect>`,
				float64(left)+float64(i)*barW+1, y, barW-2, hh, colour(n), day, html.EscapeString(n), m[n])
		}
	}
	fmt.Fprintf(&sb, `<text x="%d" y="%d">%s</text><text x="%d" y="%d" text-anchor="end">%s</text>`,
		left, top+plotH+16, end.AddDate(0, 0, 1-days).Format("Jan 2"), chartWidth-10, top+plotH+16, end.Format("Jan 2"))
	for i, n := range names {
		x, y := left+(i%3)*200, top+plotH+26+(i/3)*rowHeight
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`,
			x, y, colour(n), x+14, y+9, html.EscapeString(n))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// seriesName names a field's code; a violation of no one field is the row's.
func seriesName(field, code string) string {
	if field == "" {
		field = "row"
	}
	return field + " · " + code
}

func bandName(b int) string {
	if b == kith.CompletenessBands-1 {
		return "100"
	}
	return fmt.Sprintf("%d–%d", 10*b, 10*b+9)
}

// completenessChart sets today's distribution beside the one 30 days before.
func completenessChart(c kith.CompletenessFigures) template.HTML {
	most := 1
	for b := range kith.CompletenessBands {
		most = max(most, c.Now[b])
		if c.Before != nil {
			most = max(most, c.Before[b])
		}
	}
	const plotH, left, top = 160, 50, 10
	groupW := float64(chartWidth-left-10) / kith.CompletenessBands
	var sb strings.Builder
	h := top + plotH + 50
	fmt.Fprintf(&sb, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d">`, chartWidth, h, chartWidth, h)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, left, top+plotH, chartWidth-10, top+plotH)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end">%d</text>`, left-4, top+10, most)
	for b := range kith.CompletenessBands {
		x := float64(left) + float64(b)*groupW
		draw := func(n int, dx float64, colour, when string) {
			hh := float64(plotH) * float64(n) / float64(most)
			fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %d</title></rect>`,
				x+dx, float64(top+plotH)-hh, groupW/2-3, hh, colour, bandName(b), when, n)
		}
		if c.Before != nil {
			draw(c.Before[b], 2, palette[7], "30 days ago")
		}
		draw(c.Now[b], groupW/2, palette[0], "now")
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" text-anchor="middle" class="small">%s</text>`, x+groupW/2, top+plotH+14, bandName(b))
	}
	y := top + plotH + 30
	fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">now</text>`, left, y, palette[0], left+14, y+9)
	before := "30 days ago: no snapshot yet"
	if c.Before != nil {
		before = "snapshot of " + c.BeforeDay.Format("2006-01-02")
	}
	fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`, left+70, y, palette[7], left+84, y+9, before)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}
