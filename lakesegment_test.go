package kith_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kithhq/kith"
)

// TestJoinedSegmentsAreOneGzipMember: segments compressed apart, joined at
// once or added one by one, are one gzip member that Go's reader (which
// checks the CRC-32 and length) and gzip(1) read as the lines in order.
func TestJoinedSegmentsAreOneGzipMember(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var lines []kith.LakeLine
	for i := range 300 {
		p := fmt.Sprintf(`{"n":%d,"text":%q}`, i, strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(3000)))
		l := kith.LakeLine{ReceivedAt: at.Add(time.Duration(i) * time.Millisecond), Source: kith.LakeTracking, RequestID: fmt.Sprint("r", i),
			Verdict: kith.VerdictAccepted, Payload: json.RawMessage(p)}
		if i == 7 {
			l.RequestID = strings.Repeat("h", 70_000) // a line longer than DEFLATE's window
		}
		lines = append(lines, l)
	}
	var segs []kith.LakeSegment
	var built bytes.Buffer
	o := kith.NewLakeObjectWriter(&built)
	for i := 0; i < len(lines); {
		n := 1 + rng.IntN(20)
		if i+n > len(lines) {
			n = len(lines) - i
		}
		seg, err := kith.CompressLakeLines(lines[i : i+n])
		if err != nil {
			t.Fatal(err)
		}
		if seg.Lines != n {
			t.Fatalf("a segment of %d lines says %d", n, seg.Lines)
		}
		segs = append(segs, seg)
		o.Add(seg)
		i += n
	}
	want, err := kith.EncodeLakeObject(lines)
	if err != nil {
		t.Fatal(err)
	}
	wantText := gunzip(t, want)
	o.Close()
	if o.Written() != int64(built.Len()) || o.Lines() != len(lines) {
		t.Errorf("the writer says %d bytes, %d lines; wrote %d bytes of %d lines", o.Written(), o.Lines(), built.Len(), len(lines))
	}
	for name, data := range map[string][]byte{"segments": kith.JoinLakeSegments(segs...), "written": built.Bytes()} {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		text, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if zr.Reset(bytes.NewReader(nil)); !bytes.Equal(text, wantText) {
			t.Fatalf("%s: the first member holds %d bytes, want the %d of every line", name, len(text), len(wantText))
		}
		got, err := kith.DecodeLakeObject(data)
		if err != nil || len(got) != len(lines) || got[299].RequestID != "r299" {
			t.Fatalf("%s: decoded %d lines, %v", name, len(got), err)
		}
		cmd := exec.Command("gzip", "-dc")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil || !bytes.Equal(out, wantText) {
			t.Fatalf("%s: gzip -dc: %v (%d bytes, want %d)", name, err, len(out), len(wantText))
		}
	}
	if data := kith.JoinLakeSegments(); len(gunzip(t, data)) != 0 {
		t.Error("no segment is not an empty object")
	}
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return text
}
