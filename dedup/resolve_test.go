package dedup_test

import (
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func rec(id string, age time.Duration, src kith.Source, email, phone, first, last, birth, postal string) dedup.Record {
	return dedup.Record{ID: id, Source: src, CreatedAt: t0.Add(age), UpdatedAt: t0.Add(age), Email: email, Phone: phone,
		FirstName: first, LastName: last, BirthDate: birth, PostalCode: postal, City: "Oslo"}
}

// background gives the model a population to estimate weights from.
func background() []dedup.Record {
	return dedup.Records(dedup.Generate(3000, dedup.Difficulties["easy"], 7))
}

func TestRelativesAreNotChainedThroughARecordMissingItsBirthDate(t *testing.T) {
	recs := append(background(),
		rec("ada-1", 1, kith.SourceCRM, "ada@example.com", "+4741234567", "Ada", "Lovelace", "1990-12-10", "0150"),
		rec("ada-2", 2, kith.SourceForm, "ada@example.com", "+4741234567", "Ada", "Lovelace", "", "0150"),
		// Her father: same household phone, address and last name.
		rec("byron-1", 3, kith.SourceImport, "byron@example.com", "+4741234567", "George", "Lovelace", "1950-01-22", "0150"),
	)
	res := dedup.Resolve(recs, dedup.Config{})
	if res.ClusterOf["ada-2"] != "ada-1" {
		t.Errorf("ada-2 is in %q, want ada-1's cluster", res.ClusterOf["ada-2"])
	}
	if res.ClusterOf["byron-1"] == res.ClusterOf["ada-1"] {
		t.Error("father and daughter were merged")
	}
}

func TestReviewersDecisionsAreKept(t *testing.T) {
	recs := append(background(),
		rec("x-1", 1, kith.SourceCRM, "x@example.com", "", "Kim", "Berg", "1980-01-01", "0150"),
		rec("x-2", 2, kith.SourceCRM, "x@example.com", "", "Kim", "Berg", "1980-01-01", "0150"),
		rec("y-1", 3, kith.SourceCRM, "y1@example.com", "", "Tor", "Moe", "", ""),
		rec("y-2", 4, kith.SourceCRM, "y2@example.com", "", "Tor", "Moe", "", ""),
	)
	res := dedup.Resolve(recs, dedup.Config{Decisions: map[[2]string]bool{{"x-1", "x-2"}: false, {"y-1", "y-2"}: true}})
	if res.ClusterOf["x-1"] == res.ClusterOf["x-2"] {
		t.Error("a pair a reviewer kept apart was merged")
	}
	if res.ClusterOf["y-1"] != res.ClusterOf["y-2"] {
		t.Error("a pair a reviewer merged was not")
	}
}

func TestGoldenRecordSurvivorship(t *testing.T) {
	crm := rec("a", 1, kith.SourceCRM, "ada@crm.example", "", "Ada", "", "", "")
	form := rec("b", 2, kith.SourceForm, "ada@form.example", "+4741234567", "Adah", "Lovelace", "", "")
	newer := rec("c", 3, kith.SourceForm, "", "+4799999999", "", "", "1990-12-10", "")
	imputed := rec("d", 4, kith.SourceImputed, "", "", "", "", "1985-01-01", "")
	g := dedup.GoldenRecord([]*dedup.Record{&imputed, &newer, &form, &crm})
	want := map[kith.Field]string{
		"email":      "ada@crm.example", // CRM beats form
		"first_name": "Ada", "last_name": "Lovelace",
		"phone":      "+4799999999", // same source: the most recent wins
		"birth_date": "1990-12-10",  // provided beats imputed, however recent
	}
	for f, v := range want {
		if g[f].Value != v {
			t.Errorf("%s = %q, want %q", f, g[f].Value, v)
		}
	}
	if g["email"].Source != kith.SourceCRM || g["email"].Ref != "a" || !g["phone"].At.Equal(newer.UpdatedAt) {
		t.Errorf("provenance %+v %+v", g["email"], g["phone"])
	}
}

func TestIncrementalKeepsIDsUnlessClustersReallyMerge(t *testing.T) {
	base := append(background(),
		rec("old-ada", 1, kith.SourceCRM, "ada@example.com", "+4741234567", "Ada", "Lovelace", "1990-12-10", "0150"),
		rec("ada-dup", 2, kith.SourceForm, "ada@example.com", "", "Ada", "Lovelace", "1990-12-10", ""),
		rec("grace", 3, kith.SourceCRM, "grace@example.com", "+4790000001", "Grace", "Hopper", "1906-12-09", "0151"),
	)
	idx := dedup.NewIndex(base, dedup.Config{})
	before := map[string]string{}
	for id, c := range idx.Result().ClusterOf {
		before[id] = c
	}
	res := idx.Add([]dedup.Record{
		rec("ada-new", 10, kith.SourceImport, "ada@example.com", "+4741234567", "Ada", "Lovelace", "", ""),
		rec("stranger", 11, kith.SourceImport, "new@example.com", "+4790000002", "Noor", "Ali", "2000-01-01", "9999"),
	})
	if res.ClusterOf["ada-new"] != "old-ada" || res.ClusterOf["stranger"] != "stranger" {
		t.Errorf("new records: ada-new → %q, stranger → %q", res.ClusterOf["ada-new"], res.ClusterOf["stranger"])
	}
	for id, c := range before {
		if res.ClusterOf[id] != c {
			t.Errorf("%s moved from %s to %s", id, c, res.ClusterOf[id])
		}
	}
	if res.ClusterOf["old-ada"] != "old-ada" {
		t.Error("the oldest record's id is not the cluster's")
	}
}
