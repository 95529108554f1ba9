package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kithhq/kith/dedup"
)

// writeList writes a labelled list as a CSV with the mess real lists have
// (dedup.WriteCSV) and returns its path and the file reference the import
// gives its rows.
func writeList(t testing.TB, labeled []dedup.Labeled) (path, fileRef string) {
	t.Helper()
	var csv bytes.Buffer
	if err := dedup.WriteCSV(&csv, labeled); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "list.csv")
	if err := os.WriteFile(path, csv.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(csv.Bytes())
	return path, hex.EncodeToString(sum[:])[:16]
}

// importList imports the list with starter import (in the list's region) in
// e's database; e's workers must be running.
func importList(t testing.TB, e *env, path, batch string) time.Duration {
	t.Helper()
	start := time.Now()
	if out, err := e.cmd("starter", "import", "-region", "NO", "-batch", batch, path).CombinedOutput(); err != nil {
		t.Fatalf("starter import: %v\n%s", err, out)
	}
	return time.Since(start)
}

// importedOnce imports a list into a database of its own, with a worker
// stopped afterwards: runs that copy it (newEnvFrom) see the same contacts with
// the same ids.
func importedOnce(t testing.TB, labeled []dedup.Labeled, batch string) (base *env, fileRef string, took time.Duration) {
	t.Helper()
	path, fileRef := writeList(t, labeled)
	base = newEnv(t)
	importer := base.startWorker()
	took = importList(t, base, path, batch)
	stopWorker(importer)
	return base, fileRef, took
}

// stopWorker stops a worker and waits for it: the next run's workers poll the
// same task queues.
func stopWorker(w *exec.Cmd) {
	w.Process.Signal(syscall.SIGTERM)
	w.Wait()
}

// rowClusters is each labelled row's contact in e's database now (merges
// followed, as the store keeps each row's source record); a row that made no
// contact is a cluster of its own. It also counts the rows that made one.
func rowClusters(t testing.TB, e *env, labeled []dedup.Labeled, fileRef string) (map[string]string, int) {
	t.Helper()
	rows, err := e.store.ImportedRows(t.Context(), fileRef)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(labeled))
	contacts := 0
	for i, l := range labeled {
		out[l.ID] = "row:" + l.ID
		if id, ok := rows[i+1]; ok {
			out[l.ID] = id
			contacts++
		}
	}
	return out, contacts
}

// asTruth numbers a clustering of the list's rows, for dedup.EvaluateIDs to
// score another clustering against it.
func asTruth(labeled []dedup.Labeled, clusters map[string]string) (ids []string, entities []int) {
	ids, entities = make([]string, len(labeled)), make([]int, len(labeled))
	number := map[string]int{}
	for i, l := range labeled {
		ids[i] = l.ID
		if _, ok := number[clusters[l.ID]]; !ok {
			number[clusters[l.ID]] = len(number)
		}
		entities[i] = number[clusters[l.ID]]
	}
	return ids, entities
}
