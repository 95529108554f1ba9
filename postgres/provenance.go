package postgres

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kithhq/kith"
)

// A contact's field_provenance names each field's origin (source, ref, at)
// once for the origin most of its fields share, under originKey, and only the
// fields from other origins name their own; what is the field's alone
// (imputed, method, confidence) stays with it:
//
//	{"_": {"source": "import", "ref": "…:row:1", "at": "…"},
//	 "email": {}, "country": {"imputed": true, "method": "phone_prefix", "confidence": 1},
//	 "city": {"source": "form", "ref": "…", "at": "…"}}
//
// A contact's fields came on average from 1.1 origins, and each field naming
// its own was seven eighths of a contact row (1,168 of 1,341 bytes at 10M
// contacts). A field object with "at" names its own origin, so rows written
// before (every field its own) read the same. SQL reads a field's origin with
// provenanceSQL.
const originKey = "_"

// storedOrigin is a field's origin as stored: every part written, an empty
// ref included, so that it never falls back to the shared one.
type storedOrigin struct {
	Source kith.Source `json:"source"`
	Ref    string      `json:"ref"`
	At     time.Time   `json:"at"`
}

// storedField is one field's object in field_provenance.
type storedField struct {
	*storedOrigin
	Imputed    bool    `json:"imputed,omitempty"`
	Method     string  `json:"method,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
}

// readField is storedField as read: without "at", the shared origin.
type readField struct {
	Source     kith.Source `json:"source"`
	Ref        string      `json:"ref"`
	At         *time.Time  `json:"at"`
	Imputed    bool        `json:"imputed"`
	Method     string      `json:"method"`
	Confidence float64     `json:"confidence"`
}

// encodeProvenance is the field_provenance of a contact's fields.
func encodeProvenance(prov map[kith.Field]kith.Provenance) ([]byte, error) {
	origin := func(p kith.Provenance) storedOrigin { return storedOrigin{p.Source, p.Ref, p.At} }
	// The shared origin is the one most fields have (the first in the
	// profile's field order on a tie), compared as written.
	key := func(o storedOrigin) string {
		return string(o.Source) + "\x00" + o.Ref + "\x00" + o.At.Format(time.RFC3339Nano)
	}
	count := map[string]int{}
	var shared storedOrigin
	best := 1 // an origin of one field is not worth naming twice
	for _, f := range kith.ProfileFields {
		p, ok := prov[f]
		if !ok {
			continue
		}
		o := origin(p)
		k := key(o)
		if count[k]++; count[k] > best {
			best, shared = count[k], o
		}
	}
	out := make(map[string]storedField, len(prov)+1)
	sharedKey := ""
	if best > 1 {
		out[originKey] = storedField{storedOrigin: &shared}
		sharedKey = key(shared)
	}
	for f, p := range prov {
		sf := storedField{Imputed: p.Imputed, Method: p.Method, Confidence: p.Confidence}
		if o := origin(p); key(o) != sharedKey {
			sf.storedOrigin = &o
		}
		out[string(f)] = sf
	}
	return json.Marshal(out)
}

// decodeProvenance reads a contact's field_provenance, in either form.
func decodeProvenance(raw []byte) (map[kith.Field]kith.Provenance, error) {
	var stored map[string]readField
	if err := json.Unmarshal(raw, &stored); err != nil {
		return nil, err
	}
	shared, hasShared := stored[originKey]
	if hasShared && shared.At == nil {
		return nil, fmt.Errorf("its shared origin %q has no time", originKey)
	}
	out := make(map[kith.Field]kith.Provenance, len(stored))
	for name, sf := range stored {
		if name == originKey {
			continue
		}
		p := kith.Provenance{Imputed: sf.Imputed, Method: sf.Method, Confidence: sf.Confidence}
		switch {
		case sf.At != nil:
			p.Source, p.Ref, p.At = sf.Source, sf.Ref, *sf.At
		case hasShared:
			p.Source, p.Ref, p.At = shared.Source, shared.Ref, *shared.At
		}
		out[kith.Field(name)] = p
	}
	return out, nil
}

// provenanceSQL is the SQL of one part of a field's origin (source, ref or
// at, as text) in contacts c's field_provenance: the field's own, else the
// shared one; NULL when the field has no provenance.
func provenanceSQL(field kith.Field, part string) string {
	return fmt.Sprintf(`CASE WHEN c.field_provenance ? '%[1]s' THEN coalesce(c.field_provenance->'%[1]s'->>'%[2]s',
		c.field_provenance->'%[3]s'->>'%[2]s') END`, field, part, originKey)
}

// fieldProvenanceSQL is contacts c's field_provenance with each field's
// origin in its own object, as rows written before the shared origin were.
var fieldProvenanceSQL = `(SELECT coalesce(jsonb_object_agg(p.key,
		CASE WHEN p.value ? 'at' THEN p.value ELSE coalesce(c.field_provenance->'` + originKey + `', '{}') || p.value END), '{}')
	FROM jsonb_each(c.field_provenance) p WHERE p.key <> '` + originKey + `')`
