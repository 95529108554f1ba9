package dedup

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestEveryProcessSeesTheSameNamesAndList: a list generated from one seed, and
// its records' blocking keys, are the same in every process. Workers that
// disagree on a name's canonical form disagree on its blocking keys; "steve"
// was stephen in one process and steven in another (the nicknames were built
// by ranging over a map), and a benchmark's kept list could not be read back.
func TestEveryProcessSeesTheSameNamesAndList(t *testing.T) {
	if os.Getenv("KITH_DEDUP_CHILD") == "1" {
		list := Generate(20000, Difficulties["hard"], 43)
		if err := WriteCSV(os.Stdout, list); err != nil {
			t.Fatal(err)
		}
		for i := range list {
			r := list[i].Record
			for _, k := range BlockingKeys(&r) {
				os.Stdout.Write([]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)})
			}
		}
		return
	}
	if got := nicknames["steve"]; got != "stephen" {
		t.Errorf(`"steve" stands for %q, want stephen, the first name listed with it`, got)
	}
	var first []byte
	for i := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEveryProcessSeesTheSameNamesAndList$")
		cmd.Env = append(os.Environ(), "KITH_DEDUP_CHILD=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("process %d: %v", i+1, err)
		}
		if i == 0 {
			first = out
		} else if !bytes.Equal(out, first) {
			t.Fatalf("process %d generated another list, or other keys, from the same seed than process 1", i+1)
		}
	}
}
