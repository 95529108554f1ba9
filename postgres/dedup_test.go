package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/postgres"
)

func TestDedupMergesDuplicatesInTheStoreOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var in []kith.ContactInput
	for _, r := range dedup.Records(dedup.Generate(400, dedup.Difficulties["easy"], 3)) {
		if r.Email == "" {
			continue
		}
		in = append(in, input(at, kith.SourceImport, "email", r.Email, "first_name", r.FirstName, "last_name", r.LastName,
			"phone", r.Phone, "birth_date", r.BirthDate, "postal_code", r.PostalCode))
	}
	in = append(in,
		input(at, kith.SourceCRM, "email", "ada@example.com", "first_name", "Ada", "last_name", "Lovelace", "phone", "+4741234567", "birth_date", "1990-12-10"),
		input(at.Add(time.Hour), kith.SourceForm, "email", "ada.lovelace@example.org", "first_name", "Ada", "last_name", "Lovelace", "phone", "+4741234567", "birth_date", "1990-12-10", "city", "Oslo"))
	if _, err := s.UpsertContacts(ctx, in); err != nil {
		t.Fatal(err)
	}
	a, _ := s.ContactIDByEmail(ctx, "ada@example.com")
	b, _ := s.ContactIDByEmail(ctx, "ada.lovelace@example.org")

	d := &activities.Dedup{Store: s}
	sum, err := d.Resolve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Merges == 0 {
		t.Fatalf("nothing merged: %+v", sum)
	}
	survivor := a
	if owner, _ := s.ContactIDByEmail(ctx, "ada.lovelace@example.org"); owner != a && owner != b {
		t.Fatalf("Ada's second email belongs to %s", owner)
	} else {
		survivor = owner
	}
	if owner, _ := s.ContactIDByEmail(ctx, "ada@example.com"); owner != survivor {
		t.Errorf("Ada's two records were not merged (%s, %s)", owner, survivor)
	}
	c, _ := s.Contact(ctx, survivor)
	if c.Get("city") != "Oslo" || c.Get("phone") != "+4741234567" {
		t.Errorf("golden record %+v", c.Fields)
	}
	var merges int
	s.DB().Get(&merges, `SELECT count(*) FROM merges WHERE actor = 'dedup' AND reason LIKE 'dedup:%'`)
	if merges != sum.Merges {
		t.Errorf("%d merge records, summary says %d", merges, sum.Merges)
	}
	// Each merge records its cluster's weakest link, never 0.
	var weakest float64
	s.DB().Get(&weakest, `SELECT min(score) FROM merges WHERE actor = 'dedup'`)
	if weakest < dedup.DefaultAcceptAbove {
		t.Errorf("weakest merge score %.3f, want each ≥ %.2f", weakest, dedup.DefaultAcceptAbove)
	}
	// The run went on until a round merged nothing: a fixed point.
	if sum.Rounds < 2 {
		t.Errorf("resolution ran %d rounds; the last must merge nothing", sum.Rounds)
	}
	// Scoring again after the merges reads their survivors only.
	var survivors int
	s.DB().Get(&survivors, `SELECT count(DISTINCT survivor_id) FROM merges WHERE id >= $1`, sum.FirstMerge)
	rescored, err := (&activities.Cleaning{Store: s, Now: time.Now}).Standardize(ctx, activities.StandardizeInput{MergesFrom: sum.FirstMerge})
	if err != nil || rescored.Checked != survivors || survivors == 0 {
		t.Errorf("rescoring checked %d contacts (%v), want the %d survivors", rescored.Checked, err, survivors)
	}
	again, err := d.Resolve(ctx)
	if err != nil || again.Merges != 0 {
		t.Errorf("second run merged %d more (%v)", again.Merges, err)
	}
	t.Logf("first run: %d contacts, %d merged, %d pairs for review", sum.Contacts, sum.Merges, sum.Review)
}

// The profile keeps one phone; the source records keep both rows a list gave for
// one email, so a CRM record with the older phone and another email still finds
// the person. Sending the rows again stores nothing new.
func TestSourceRecordsKeepWhatTheProfileOverwrote(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	row := func(ref string, at time.Time, kv ...string) kith.ContactInput {
		in := input(at, kith.SourceImport, kv...)
		for f, v := range in.Fields {
			v.Ref = ref
			in.Fields[f] = v
		}
		return in
	}
	rows := []kith.ContactInput{
		row("file:row:1", at, "email", "ada@example.com", "first_name", "Ada", "last_name", "Lovelace", "phone", "+4741234567", "birth_date", "1990-12-10"),
		row("file:row:2", at.Add(time.Microsecond), "email", "ada@example.com", "first_name", "Ada", "last_name", "Lovelace", "phone", "+4790000001"),
	}
	for range 2 {
		if _, err := s.UpsertContacts(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	ada, _ := s.ContactIDByEmail(ctx, "ada@example.com")
	c, _ := s.Contact(ctx, ada)
	if c.Get(kith.FieldPhone) != "+4790000001" {
		t.Fatalf("profile phone %q, want the later row's", c.Get(kith.FieldPhone))
	}
	srcs, err := s.ActiveSourceRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := srcs[ada]; len(got) != 2 || got[0].Fields[kith.FieldPhone] != "+4741234567" || got[0].Ref != "file:row:1" {
		t.Fatalf("source records %+v, want both rows once", got)
	}
	// A CRM record with the older phone and another address: only the source
	// record links it.
	crm := input(at.Add(time.Hour), kith.SourceCRM, "email", "a.lovelace@work.example", "first_name", "Ada", "last_name", "Lovelace",
		"phone", "+4741234567", "birth_date", "1990-12-10")
	if _, err := s.UpsertContacts(ctx, []kith.ContactInput{crm}); err != nil {
		t.Fatal(err)
	}
	work, _ := s.ContactIDByEmail(ctx, "a.lovelace@work.example")
	if _, err := (&activities.Dedup{Store: s}).Resolve(ctx); err != nil {
		t.Fatal(err)
	}
	if owner, _ := s.ContactIDByEmail(ctx, "a.lovelace@work.example"); owner == work && owner != ada {
		t.Errorf("the CRM record was not linked through the older phone")
	}
	// Merged contacts' source records still count for the survivor.
	srcs, _ = s.ActiveSourceRecords(ctx)
	survivor, _ := s.ContactIDByEmail(ctx, "ada@example.com")
	if len(srcs[survivor]) != 2 {
		t.Errorf("survivor's source records %+v", srcs[survivor])
	}
}

// TestLaterRoundReadsTheRoundsSurvivors: a later round's part reads the
// blocks of the keys the round before's survivors hold, with those survivors
// (Changed) and the contacts of those blocks; the survivors are written once
// a round (dedup_rounds), so a merge made after the round's first part read
// them is the next round's, and a row a day old goes with the next write.
func TestLaterRoundReadsTheRoundsSurvivors(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	people := []string{"a1", "a2", "a3", "b1", "b2", "c1"}
	var in []kith.ContactInput
	for _, p := range people {
		first := map[byte]string{'a': "Ada", 'b': "Bob", 'c': "Cy"}[p[0]]
		in = append(in, input(at, kith.SourceImport, "email", p+"@example.com", "first_name", first, "birth_date", "1990-01-02"))
	}
	if _, err := s.UpsertContacts(ctx, in); err != nil {
		t.Fatal(err)
	}
	id := map[string]string{}
	for _, p := range people {
		id[p], _ = s.ContactIDByEmail(ctx, p+"@example.com")
	}
	first, err := s.MergeContacts(ctx, kith.Merge{SurvivorID: id["a1"], MergedIDs: []string{id["a2"]}, Reason: "test", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	holders := func(mc kith.MatchCandidates) []string {
		var out []string
		for _, r := range mc.Rows {
			if r.Source == "" {
				out = append(out, r.Holder)
			}
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }
	mc, err := s.PartContacts(ctx, math.MinInt64, math.MaxInt64, first[0])
	if err != nil {
		t.Fatal(err)
	}
	// a1 holds a2's values now; a3 shares Ada's first name and birth date.
	if !slices.Equal(mc.Changed, []string{id["a1"]}) || !slices.Equal(holders(mc), sorted(id["a1"], id["a3"])) || len(mc.Keys) == 0 {
		t.Fatalf("round after a1+a2: changed %v, contacts %v, %d keys; want a1, a1 and a3", mc.Changed, holders(mc), len(mc.Keys))
	}
	later, err := s.MergeContacts(ctx, kith.Merge{SurvivorID: id["b1"], MergedIDs: []string{id["b2"]}, Reason: "test", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if mc, err = s.PartContacts(ctx, math.MinInt64, math.MaxInt64, first[0]); err != nil || !slices.Equal(mc.Changed, []string{id["a1"]}) {
		t.Fatalf("the same round read again: changed %v, %v; want a1 only (its survivors are written once)", mc.Changed, err)
	}
	if _, err := s.DB().Exec(`UPDATE dedup_rounds SET written_at = now() - interval '2 days'`); err != nil {
		t.Fatal(err)
	}
	if mc, err = s.PartContacts(ctx, math.MinInt64, math.MaxInt64, later[0]); err != nil || !slices.Equal(mc.Changed, []string{id["b1"]}) {
		t.Fatalf("next round: changed %v, %v; want b1", mc.Changed, err)
	}
	var rounds []int64
	s.DB().Select(&rounds, `SELECT from_merge FROM dedup_rounds`)
	if !slices.Equal(rounds, []int64{later[0]}) {
		t.Errorf("rounds kept %v, want only %d (the one a day old deleted)", rounds, later[0])
	}
}

// TestLaterRoundReadsTheNewProfiles: a later round that scores only new
// golden profiles reads the blocks of the keys of the survivors' profiles
// that are new in values (Changed, Keys): a survivor whose profile is still
// its own record's values, or whose merge kept its profile, is left out, as
// its pairs were scored before.
func TestLaterRoundReadsTheNewProfiles(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	phone := "+4791234567"
	in := []kith.ContactInput{
		input(at, kith.SourceImport, "email", "a1@example.com", "first_name", "Ada", "birth_date", "1990-01-02"),
		input(at, kith.SourceImport, "email", "a2@example.com", "first_name", "Ada", "birth_date", "1990-01-02"),
		input(at, kith.SourceImport, "email", "b1@example.com", "first_name", "Bob", "birth_date", "1980-05-06"),
		input(at, kith.SourceImport, "email", "b2@example.com", "first_name", "Bob", "phone", phone),
		input(at, kith.SourceImport, "email", "c1@example.com", "first_name", "Cy", "phone", phone),
		input(at, kith.SourceImport, "email", "e1@example.com", "first_name", "Eve", "birth_date", "1960-01-01"),
		input(at, kith.SourceImport, "email", "e2@example.com", "first_name", "Eve", "birth_date", "1960-01-01"),
	}
	for i := range in { // each a row of an imported file: a source record
		for f, v := range in[i].Fields {
			v.Ref = fmt.Sprintf("list.csv:%d", i+2)
			in[i].Fields[f] = v
		}
	}
	// d1 came from a form: its profile is none of its records' values.
	in = append(in, input(at, kith.SourceForm, "email", "d1@example.com", "first_name", "Di", "birth_date", "1970-07-08"),
		input(at, kith.SourceForm, "email", "d2@example.com", "first_name", "Di", "birth_date", "1970-07-08"))
	if _, err := s.UpsertContacts(ctx, in); err != nil {
		t.Fatal(err)
	}
	id := map[string]string{}
	for _, p := range []string{"a1", "a2", "b1", "b2", "c1", "d1", "d2", "e1", "e2"} {
		id[p], _ = s.ContactIDByEmail(ctx, p+"@example.com")
	}
	var records int
	s.DB().Get(&records, `SELECT count(*) FROM match_values WHERE holder_id = $1 AND source <> '' AND vals = (SELECT vals FROM match_values WHERE holder_id = $1 AND source = '')`, id["d1"])
	if records != 0 {
		t.Fatalf("d1 holds %d records with its profile's values, want none", records)
	}
	// a1 and d1 keep their profiles (d1's is new to no pair: it was scored
	// as it is); e1's golden record is e2's record, which was scored as it
	// is; b1's golden record takes b2's phone.
	first, err := s.MergeContacts(ctx,
		kith.Merge{SurvivorID: id["a1"], MergedIDs: []string{id["a2"]}, Reason: "test", Actor: "test"},
		kith.Merge{SurvivorID: id["d1"], MergedIDs: []string{id["d2"]}, Reason: "test", Actor: "test"},
		kith.Merge{SurvivorID: id["e1"], MergedIDs: []string{id["e2"]}, Reason: "test", Actor: "test",
			Golden: map[kith.Field]kith.Value{kith.FieldEmail: {Value: "e2@example.com", Provenance: kith.Provenance{Ref: id["e2"]}}}},
		kith.Merge{SurvivorID: id["b1"], MergedIDs: []string{id["b2"]}, Reason: "test", Actor: "test",
			Golden: map[kith.Field]kith.Value{kith.FieldEmail: {Value: "b1@example.com", Provenance: kith.Provenance{Ref: id["b1"]}}}})
	if err != nil {
		t.Fatal(err)
	}
	b1, err := s.Contact(ctx, id["b1"])
	if err != nil || b1.Get(kith.FieldPhone) != phone {
		t.Fatalf("b1's profile after the merge: phone %q, %v; want b2's", b1.Get(kith.FieldPhone), err)
	}
	profile := dedup.RecordOf(b1.ID, "", b1.CreatedAt, b1.UpdatedAt, b1.Get)
	want := dedup.BlockingKeys(&profile)
	mc, err := s.PartProfiles(ctx, math.MinInt64, math.MaxInt64, first[0])
	if err != nil {
		t.Fatal(err)
	}
	var holders []string
	for _, r := range mc.Rows {
		if r.Source == "" {
			holders = append(holders, r.Holder)
		}
	}
	slices.Sort(holders)
	if !slices.Equal(mc.Changed, []string{id["b1"]}) || !slices.Equal(mc.Keys, want) {
		t.Fatalf("changed %v, keys %v; want b1 alone and its new profile's keys %v", mc.Changed, mc.Keys, want)
	}
	if wantHolders := slices.Sorted(slices.Values([]string{id["b1"], id["c1"]})); !slices.Equal(holders, wantHolders) {
		t.Errorf("contacts read %v, want b1 and c1 (who shares the phone)", holders)
	}
	// One part's key range reads only its keys; the round's keys are
	// written once.
	if part, err := s.PartProfiles(ctx, want[0], want[0], first[0]); err != nil || !slices.Equal(part.Keys, want[:1]) {
		t.Errorf("a part of the key space: keys %v, %v; want %v", part.Keys, err, want[:1])
	}
	var n int
	s.DB().Get(&n, `SELECT count(*) FROM dedup_round_keys`)
	if n != len(want) {
		t.Errorf("%d keys kept for the round, want %d", n, len(want))
	}
	// The round's size, against the list's keys as the planner counts them.
	if _, err := s.DB().Exec(`ANALYZE contact_keys`); err != nil {
		t.Fatal(err)
	}
	var listKeys int64
	s.DB().Get(&listKeys, `SELECT count(*) FROM contact_keys`)
	if round, list, err := s.RoundKeys(ctx, first[0]); err != nil || round != int64(len(want)) || list != listKeys {
		t.Errorf("round keys %d of %d, %v; want %d of %d", round, list, err, len(want), listKeys)
	}
}

// A merge part reads, resolves and merges its batches of linked components
// side by side: over one copy of a list, batches of 40 contacts (many at
// once) merge the same people as one batch for the whole part.
func TestMergePartBatchesSideBySideMergeAsOne(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("test_%d_merge_side_by_side", os.Getpid())
	base := newNamedStore(t, name)
	url := stack.Postgres.URL
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var in []kith.ContactInput
	for i, r := range dedup.Records(dedup.Generate(3000, dedup.Difficulties["hard"], 5)) {
		if r.Email != "" {
			in = append(in, recordInput(r, at, fmt.Sprint("row-", i)))
		}
	}
	for batch := range slices.Chunk(in, 2000) {
		if _, err := base.UpsertContacts(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	base.Close() // a template has no sessions
	resolve := func(copyName string, joinBatch int) (activities.DedupSummary, []string) {
		t.Helper()
		copyURL, err := postgres.CopyDatabase(ctx, url, copyName, name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := postgres.Open(ctx, copyURL)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		t.Cleanup(func() { postgres.DropDatabase(context.Background(), url, copyName) })
		d := &activities.Dedup{Store: shuffledLinks{s}, Parts: 4, JoinBatch: joinBatch}
		sum, err := resolveOneRoundInParts(ctx, d, copyName)
		if err != nil {
			t.Fatal(err)
		}
		// The people as their emails, each contact's sorted.
		var groups []string
		if err := s.DB().Select(&groups, `SELECT string_agg(value, ' ' ORDER BY value) FROM identities
			WHERE kind = 'email' GROUP BY contact_id ORDER BY 1`); err != nil {
			t.Fatal(err)
		}
		var merged int
		s.DB().Get(&merged, `SELECT count(*) FROM contacts WHERE status = 'merged'`)
		if merged != sum.Merges {
			t.Errorf("join batch %d: %d contacts merged, the parts say %d", joinBatch, merged, sum.Merges)
		}
		var stray int
		s.DB().Get(&stray, `SELECT count(*) FROM contact_keys k JOIN contacts c ON c.id = k.contact_id WHERE c.status <> 'active'`)
		if stray != 0 {
			t.Errorf("join batch %d: %d blocking keys of merged contacts left", joinBatch, stray)
		}
		// Every active contact holds the keys of each row of values it
		// holds, its own and those merged into it: no candidate is lost.
		var rows []struct {
			Holder string         `db:"holder_id"`
			Vals   pq.StringArray `db:"vals"`
		}
		var keys []struct {
			Key int64  `db:"key"`
			ID  string `db:"contact_id"`
		}
		if err := s.DB().Select(&rows, `SELECT holder_id::text, vals FROM match_values`); err != nil {
			t.Fatal(err)
		}
		if err := s.DB().Select(&keys, `SELECT key, contact_id::text FROM contact_keys`); err != nil {
			t.Fatal(err)
		}
		stored := map[string]map[int64]bool{}
		for _, k := range keys {
			if stored[k.ID] == nil {
				stored[k.ID] = map[int64]bool{}
			}
			stored[k.ID][k.Key] = true
		}
		missing := 0
		for _, r := range rows {
			rec := dedup.RecordOfValues(r.Holder, "", time.Time{}, time.Time{}, r.Vals)
			for _, k := range dedup.BlockingKeys(&rec) {
				if !stored[r.Holder][k] {
					missing++
				}
			}
		}
		if missing > 0 {
			t.Errorf("join batch %d: %d blocking keys of the values contacts hold are missing", joinBatch, missing)
		}
		if joinBatch >= len(in) {
			// One batch a part: its merges are recorded in the order it
			// made them, which is that of the clusters' newest contacts
			// (the contacts merged), so that neighbouring merges touch
			// neighbouring rows. Out of order: where a part ends, and where
			// a linked component split into clusters.
			var recs []struct {
				Survivor string `db:"survivor_id"`
				Merged   string `db:"merged_id"`
			}
			if err := s.DB().Select(&recs, `SELECT survivor_id::text, merged_id::text FROM merges ORDER BY id`); err != nil {
				t.Fatal(err)
			}
			var newest []string // of each cluster, in the order merged
			for i, r := range recs {
				if i == 0 || r.Survivor != recs[i-1].Survivor {
					newest = append(newest, r.Survivor)
				}
				newest[len(newest)-1] = max(newest[len(newest)-1], r.Merged)
			}
			down := 0
			for i := 1; i < len(newest); i++ {
				if newest[i] < newest[i-1] {
					down++
				}
			}
			if down > 1+len(newest)/20 {
				t.Errorf("%d of %d clusters were merged before a cluster with an older newest contact", down, len(newest))
			}
			t.Logf("merge order: %d of %d clusters out of order", down, len(newest))
		}
		return sum, groups
	}
	one, oneGroups := resolve(name+"_one", 1000000)
	many, manyGroups := resolve(name+"_many", 40)
	if one.Merges < 200 {
		t.Fatalf("the list gave %d merges: too few to fill several batches of 40", one.Merges)
	}
	if many.Merges != one.Merges || !slices.Equal(manyGroups, oneGroups) {
		t.Errorf("side by side: %d merged into %d contacts; one batch: %d merged into %d", many.Merges, len(manyGroups), one.Merges, len(oneGroups))
	}
	t.Logf("%d contacts merged, the same by batches of 40 side by side as by one batch", one.Merges)
}

// shuffledLinks is a store whose links are read back in no order, as a
// large run's are: written by dozens of parts, in the order they finish.
type shuffledLinks struct{ *postgres.Store }

func (s shuffledLinks) EachLink(ctx context.Context, runID string, f func(kith.DedupLink) error) error {
	var links []kith.DedupLink
	if err := s.Store.EachLink(ctx, runID, func(l kith.DedupLink) error {
		links = append(links, l)
		return nil
	}); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(links), func(i, j int) { links[i], links[j] = links[j], links[i] })
	for _, l := range links {
		if err := f(l); err != nil {
			return err
		}
	}
	return nil
}

// resolveOneRoundInParts runs the first round of a partitioned run in this
// process, as the Deduplicate workflow runs it over the workers: the model
// from the parts' pair patterns, each part scored, then two merge parts.
func resolveOneRoundInParts(ctx context.Context, d *activities.Dedup, runID string) (activities.DedupSummary, error) {
	plan, err := d.PlanResolution(ctx)
	if err != nil {
		return activities.DedupSummary{}, err
	}
	train := activities.TrainInput{Contacts: plan.Contacts}
	for _, p := range plan.Sample {
		h, err := d.HistogramPart(ctx, activities.PartInput{Part: p, Parts: plan.Parts})
		if err != nil {
			return activities.DedupSummary{}, err
		}
		train.Histograms = append(train.Histograms, h)
	}
	version, err := d.TrainModel(ctx, train)
	if err != nil {
		return activities.DedupSummary{}, err
	}
	for p := range plan.Parts {
		if _, err := d.ScorePart(ctx, activities.PartInput{RunID: runID, Part: p, Parts: plan.Parts, ModelVersion: version}); err != nil {
			return activities.DedupSummary{}, err
		}
	}
	mark, err := d.MergeMark(ctx)
	if err != nil {
		return activities.DedupSummary{}, err
	}
	var sum activities.DedupSummary
	for p := range 2 {
		r, err := d.MergePart(ctx, activities.PartInput{RunID: runID, Part: p, Parts: 2, ModelVersion: version})
		if err != nil {
			return sum, err
		}
		sum.Merges += r.Merges
	}
	// The merge records say the same.
	if recorded, err := d.RoundMerges(ctx, mark); err != nil || recorded.Merges != sum.Merges || recorded.FirstMerge != mark+1 {
		return sum, fmt.Errorf("the merge records after %d say %+v (%v), the parts %d merges", mark, recorded, err, sum.Merges)
	}
	return sum, d.ForgetLinks(ctx, activities.PartInput{RunID: runID})
}
