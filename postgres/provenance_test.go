package postgres

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/kithhq/kith"
)

func TestProvenanceNamesASharedOriginOnce(t *testing.T) {
	at := time.Date(2026, 12, 4, 0, 29, 32, 1000, time.UTC)
	row := kith.Provenance{Source: kith.SourceImport, Ref: "ea98e4f753d237ec:row:1", At: at}
	imputed := row
	imputed.Imputed, imputed.Method, imputed.Confidence = true, "phone_prefix", 1
	form := kith.Provenance{Source: kith.SourceForm, Ref: "sub-1", At: at.Add(time.Hour)}
	noRef := kith.Provenance{Source: kith.SourceImport, At: at} // differs from the row's only by its empty ref
	old := `{"city": {"at": "2026-12-04T00:29:32.000001Z", "ref": "ea98e4f753d237ec:row:1", "source": "import"},
		"country": {"at": "2026-12-04T00:29:32.000001Z", "ref": "ea98e4f753d237ec:row:1", "method": "phone_prefix", "source": "import", "imputed": true, "confidence": 1}}`
	for _, c := range []struct {
		name   string
		prov   map[kith.Field]kith.Provenance
		shared bool
	}{
		{"one origin", map[kith.Field]kith.Provenance{"email": row, "city": row, "phone": row, "country": imputed}, true},
		{"two origins", map[kith.Field]kith.Provenance{"email": row, "last_name": row, "city": form, "postal_code": noRef}, true},
		{"each its own", map[kith.Field]kith.Provenance{"email": row, "city": form}, false},
		{"one field", map[kith.Field]kith.Provenance{"email": row}, false},
		{"none", map[kith.Field]kith.Provenance{}, false},
	} {
		raw, err := encodeProvenance(c.prov)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(raw), `"_"`); got != c.shared {
			t.Errorf("%s: shared origin written %v, want %v: %s", c.name, got, c.shared, raw)
		}
		back, err := decodeProvenance(raw)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !maps.EqualFunc(back, c.prov, sameProvenance) {
			t.Errorf("%s: read back %+v, want %+v (stored %s)", c.name, back, c.prov, raw)
		}
	}
	// Rows written before, each field naming its own origin, read the same.
	back, err := decodeProvenance([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if back["city"] != row || back["country"] != imputed {
		t.Errorf("a row written before read as %+v", back)
	}
	// An imported row's fields: under a third of each naming its own.
	all := map[kith.Field]kith.Provenance{}
	for _, f := range kith.ProfileFields {
		all[f] = row
	}
	all["country"] = imputed
	compact, _ := encodeProvenance(all)
	each, _ := json.Marshal(all)
	t.Logf("%d fields of one origin: %d bytes, each naming its own %d", len(all), len(compact), len(each))
	if len(compact)*3 > len(each) {
		t.Errorf("%d fields of one origin take %d bytes (each its own: %d): %s", len(all), len(compact), len(each), compact)
	}
}

// sameProvenance reports whether two provenances are equal, their times
// in the same location.
func sameProvenance(a, b kith.Provenance) bool {
	if !a.At.Equal(b.At) || a.At.Location() != b.At.Location() {
		return false
	}
	a.At, b.At = time.Time{}, time.Time{}
	return a == b
}
