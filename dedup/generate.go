package dedup

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/kithhq/kith"
)

// Labeled is a generated record with the person it truly belongs to, and the
// phenomena that make it hard (Tags).
type Labeled struct {
	Record
	Entity int
	Tags   Tag
}

// Tag is a set of named phenomena a generated record shows; the evaluation
// reports precision and recall per phenomenon.
type Tag uint16

// The named phenomena. The look-alikes are other people who resemble someone
// (precision suffers when they merge); the hard duplicates are records of one
// person that resemble each other little (recall suffers when they stay apart).
const (
	TagTwin            Tag = 1 << iota // same last name, birth date, address, often phone; another first name
	TagJuniorSenior                    // same first and last name, address and phone; born a generation apart
	TagNamesake                        // same first and last name and birth date; lives elsewhere
	TagRelative                        // shares a household (last name, address, often phone)
	TagCommonName                      // one of a few very common names
	TagSparse                          // a duplicate with several fields missing
	TagSwappedNames                    // a duplicate with first and last name the other way round
	TagUnrepairedEmail                 // a duplicate whose email the standardizer could not repair (dropped)
	TagNewEmail                        // a duplicate with another email address
	TagTypo                            // a duplicate with a typo in a name
)

var tagNames = [...]string{"twin", "junior_senior", "namesake", "relative", "common_name", "sparse",
	"swapped_names", "unrepaired_email", "new_email", "typo"}

// String names the tags, joined by "+".
func (t Tag) String() string {
	var out []string
	for i, n := range tagNames {
		if t&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, "+")
}

// Difficulty sets how messy generated duplicates are and how many look-alikes
// there are.
type Difficulty struct {
	DupShare     float64 // share of people with more than one record
	Typo         float64 // chance of a typo in each name of a duplicate
	Nickname     float64
	Swap         float64 // first and last name written the other way round
	NewEmail     float64 // a duplicate with another email address
	Missing      float64 // chance each optional field is missing from a duplicate
	NewPhone     float64
	DateTypo     float64 // day/month swapped or one digit off
	Moved        float64 // another postal code and city
	Married      float64 // another last name
	Family       float64 // share of people with a relative at the same address (and often phone)
	CommonNames  float64 // share of people with one of a few very common names
	SharedPhones bool    // relatives share the household phone
	Twins        float64 // share of people with a twin
	JuniorSenior float64 // share of people with a parent or child of the same name at the same address
	Namesakes    float64 // share of people with a namesake born the same day elsewhere
	Sparse       float64 // chance a duplicate keeps only names and one other field
	BadEmail     float64 // chance a duplicate's email could not be repaired (and so is missing)
}

// Difficulties by name.
var Difficulties = map[string]Difficulty{
	"easy": {DupShare: 0.3, Typo: 0.05, Nickname: 0.02, NewEmail: 0.05, Missing: 0.05, DateTypo: 0.01, Family: 0.02, CommonNames: 0.01},
	"hard": {DupShare: 0.4, Typo: 0.15, Nickname: 0.10, Swap: 0.05, NewEmail: 0.30, Missing: 0.20, NewPhone: 0.10,
		DateTypo: 0.06, Moved: 0.10, Married: 0.03, Family: 0.15, CommonNames: 0.10, SharedPhones: true,
		Twins: 0.03, JuniorSenior: 0.03, Namesakes: 0.03, Sparse: 0.10, BadEmail: 0.05},
}

var (
	genFirst = []string{"Ada", "Grace", "Linus", "Margaret", "Alan", "Katherine", "Edsger", "Barbara", "Ken", "Frances",
		"Ole", "Ingrid", "Kari", "Nils", "Robert", "William", "Richard", "James", "John", "Elizabeth", "Michael", "Thomas",
		"Joseph", "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Jennifer", "Patricia", "Susan", "Alexander",
		"Edward", "Nicholas", "Samuel", "Benjamin", "Rebecca", "Victoria", "Deborah", "Andrew", "Stephen", "Sofia", "Emma",
		"Olivia", "Noah", "Lucas", "Mia", "Hanna", "Jakob", "Emil", "Sara", "Astrid", "Sigrid", "Henrik", "Magnus", "Lars",
		"Anders", "Per", "Tor", "Bjorn", "Liv", "Eva", "Maja", "Nora", "Ella", "Leah", "Aria", "Amelia", "Isla", "Freya",
		"Oscar", "Hugo", "Leo", "Axel", "Filip", "Elias", "Isak", "Theo", "Adam", "Markus", "Jonas", "Tobias", "Sander",
		"Mathias", "Kristian", "Marius", "Vetle", "Sindre", "Eirik", "Petter", "Even", "Helene", "Ingeborg", "Tuva",
		"Selma", "Thea", "Julie", "Ida", "Marte", "Silje", "Camilla", "Line", "Hilde", "Randi", "Berit", "Solveig"}
	genLast = []string{"Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen",
		"Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen", "Johannessen", "Andreassen", "Jacobsen",
		"Dahl", "Jørgensen", "Halvorsen", "Henriksen", "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen",
		"Strand", "Solberg", "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen", "Mathisen",
		"Lie", "Amundsen", "Nguyen", "Rasmussen", "Ali", "Lunde", "Solheim", "Berge", "Moe", "Nygård", "Bakke", "Kristensen",
		"Fredriksen", "Holm", "Lien", "Hauge", "Christensen", "Andresen", "Nielsen", "Knudsen", "Evensen", "Sæther",
		"Aas", "Myhre", "Hanssen", "Ahmed", "Haugland", "Thomassen", "Sivertsen", "Simonsen", "Danielsen", "Berntsen",
		"Sandvik", "Rønning", "Arnesen", "Antonsen", "Næss", "Vik", "Haug", "Ellingsen", "Thorsen", "Edvardsen", "Birkeland",
		"Isaksen", "Gulbrandsen", "Ruud", "Aasen", "Strøm", "Myklebust", "Tangen", "Ødegård", "Eliassen", "Helland",
		"Bøe", "Jenssen", "Aune", "Mikkelsen", "Tveit", "Brekke", "Abrahamsen", "Madsen", "Lovelace", "Hopper", "Torvalds",
		"Hamilton", "Turing", "Johnson", "Dijkstra", "Liskov", "Thompson", "Allen", "Smith", "Garcia", "Müller", "Rossi"}
	commonNames = [][2]string{{"John", "Smith"}, {"Maria", "Garcia"}, {"Ole", "Hansen"}, {"Anne", "Olsen"}, {"Lars", "Johansen"}}
	genDomains  = []string{"gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "online.no", "icloud.com", "proton.me"}
	genStreets  = []string{"Storgata", "Kongens gate", "Dronningens gate", "Strandveien", "Kirkegata", "Parkveien", "Skolegata",
		"Bakkeveien", "Solbakken", "Granveien", "Bjørkeveien", "Furuveien", "Industriveien", "Stasjonsveien", "Sjøgata",
		"Havnegata", "Fjordveien", "Nedre gate", "Øvre gate", "Elvegata"}
	genCities = []string{"Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø", "Drammen", "Kristiansand", "Fredrikstad", "Bodø", "Ålesund"}
)

type person struct {
	first, last, email, phone, birth, postal, city, address string
	tags                                                    Tag
}

// Generate makes about n labeled contact records: people, some with several
// records that differ the way real duplicates do, and look-alikes that are not
// the same person (relatives sharing an address and phone, common names).
//
// Two things stay as they are in real lists however long the list: a mobile
// number belongs to one person unless a household shares it (numbers are drawn
// without repeats), and a street address holds a household, not hundreds of
// strangers (the house numbers grow with the list: about one person drawn per
// address, beside the relatives who share it). Drawn with repeats from a fixed
// 3,000 addresses per city, a list of ten million put 270 people at each
// address and gave 2.5 million pairs of strangers one phone, which made the
// address key's blocks grow with the list as no real list's do.
func Generate(n int, d Difficulty, seed uint64) []Labeled {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := generator{d: d, phones: phoneBook{}, houses: max(150, n/(len(genCities)*len(genStreets)))}
	out := make([]Labeled, 0, n+8)
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	sources := []kith.Source{kith.SourceCRM, kith.SourceForm, kith.SourceImport}
	entity := 0
	emit := func(p person, e int, tags Tag) {
		i := len(out)
		at := base.Add(time.Duration(i) * time.Second)
		out = append(out, Labeled{Entity: e, Tags: tags | p.tags, Record: Record{
			ID: fmt.Sprintf("c%08d", i), Source: sources[r.IntN(len(sources))], CreatedAt: at, UpdatedAt: at.Add(time.Duration(r.IntN(1e6)) * time.Second),
			Email: p.email, Phone: p.phone, FirstName: p.first, LastName: p.last, BirthDate: p.birth, PostalCode: p.postal, City: p.city,
			Address: p.address,
		}})
	}
	newPerson := func(last string) person {
		p := person{first: genFirst[r.IntN(len(genFirst))], last: last}
		if p.last == "" {
			p.last = genLast[r.IntN(len(genLast))]
		}
		if r.Float64() < d.CommonNames {
			c := commonNames[r.IntN(len(commonNames))]
			p.first, p.last = c[0], c[1]
			p.tags |= TagCommonName
		}
		p.email = fmt.Sprintf("%s.%s%d@%s", foldName(p.first), foldName(p.last), r.IntN(1000000), genDomains[r.IntN(len(genDomains))])
		p.phone = g.phones.draw(r)
		p.birth = time.Date(1940+r.IntN(66), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		ci := r.IntN(len(genCities))
		p.postal = fmt.Sprintf("%04d", ci*1000+r.IntN(1000))
		p.city = genCities[ci]
		p.address = g.address(r)
		return p
	}
	otherFirst := func(not string) string {
		for {
			if f := genFirst[r.IntN(len(genFirst))]; f != not {
				return f
			}
		}
	}
	sameDomain := func(q person, of person) string {
		return fmt.Sprintf("%s.%s%d@%s", foldName(q.first), foldName(q.last), r.IntN(1000000), strings.SplitN(of.email, "@", 2)[1])
	}
	for len(out) < n {
		p := newPerson("")
		e := entity
		entity++
		emit(p, e, 0)
		if r.Float64() < d.DupShare {
			for range 1 + r.IntN(3) {
				v, tags := g.variant(r, p)
				emit(v, e, tags)
			}
		}
		if r.Float64() < d.Family { // a relative at the same address
			q := newPerson(p.last)
			q.postal, q.city, q.address = p.postal, p.city, p.address
			q.email = sameDomain(q, p)
			if d.SharedPhones && r.Float64() < 0.5 {
				q.phone = p.phone
			}
			emit(q, entity, TagRelative)
			entity++
		}
		if r.Float64() < d.Twins { // born the same day, same home, another first name
			q := p
			q.tags = 0
			q.first = otherFirst(p.first)
			q.email = sameDomain(q, p)
			if r.Float64() < 0.5 {
				q.phone = g.phones.draw(r)
			}
			emit(q, entity, TagTwin)
			entity++
		}
		if r.Float64() < d.JuniorSenior { // the same name at the same address, a generation apart
			q := p
			q.tags = 0
			t, _ := time.Parse(time.DateOnly, p.birth)
			years := 22 + r.IntN(14)
			if t.Year()-years < 1930 {
				years = -years
			}
			q.birth = time.Date(t.Year()-years, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			q.email = fmt.Sprintf("%s.%s%d@%s", foldName(q.first), foldName(q.last), r.IntN(1000000), genDomains[r.IntN(len(genDomains))])
			if r.Float64() < 0.4 {
				q.phone = g.phones.draw(r)
			}
			emit(q, entity, TagJuniorSenior)
			entity++
		}
		if r.Float64() < d.Namesakes { // the same name and birthday, elsewhere
			q := newPerson("")
			q.first, q.last, q.birth = p.first, p.last, p.birth
			q.email = fmt.Sprintf("%s.%s%d@%s", foldName(q.first), foldName(q.last), r.IntN(1000000), genDomains[r.IntN(len(genDomains))])
			emit(q, entity, TagNamesake)
			entity++
		}
	}
	return out
}

// generator is what one list's records are drawn with beside the random
// source: the difficulty, the phones given out, and the house numbers a street
// has.
type generator struct {
	d      Difficulty
	phones phoneBook
	houses int
}

// address is a street address in the city's streets.
func (g *generator) address(r *rand.Rand) string {
	return fmt.Sprintf("%s %d", genStreets[r.IntN(len(genStreets))], 1+r.IntN(g.houses))
}

// variant is another record of the same person, with the phenomena it shows.
func (g *generator) variant(r *rand.Rand, p person) (person, Tag) {
	d := g.d
	v := p
	v.tags = 0
	var tags Tag
	chance := func(x float64) bool { return r.Float64() < x }
	if chance(d.Nickname) {
		if nick := nicknameOf(foldName(p.first)); nick != "" {
			v.first = strings.ToUpper(nick[:1]) + nick[1:]
		}
	}
	if chance(d.Typo) {
		v.first = typo(r, v.first)
		tags |= TagTypo
	}
	if chance(d.Married) {
		v.last = genLast[r.IntN(len(genLast))]
	} else if chance(d.Typo) {
		v.last = typo(r, v.last)
		tags |= TagTypo
	}
	if chance(d.Swap) {
		v.first, v.last = v.last, v.first
		tags |= TagSwappedNames
	}
	if chance(d.NewEmail) {
		v.email = fmt.Sprintf("%s%d@%s", foldName(p.first)[:1]+foldName(p.last), r.IntN(1000000), genDomains[r.IntN(len(genDomains))])
		tags |= TagNewEmail
	}
	if chance(d.NewPhone) {
		v.phone = g.phones.draw(r)
	}
	if chance(d.DateTypo) {
		if r.IntN(2) == 0 && p.birth[8:10] <= "12" {
			v.birth = p.birth[:5] + p.birth[8:10] + "-" + p.birth[5:7]
		} else {
			b := []byte(p.birth)
			b[3] = byte('0' + (int(b[3]-'0')+1+r.IntN(8))%10)
			v.birth = string(b)
		}
	}
	if chance(d.Typo) && v.address != "" {
		v.address = typo(r, v.address)
		tags |= TagTypo
	}
	if chance(d.Moved) {
		ci := r.IntN(len(genCities))
		v.postal, v.city = fmt.Sprintf("%04d", ci*1000+r.IntN(1000)), genCities[ci]
		v.address = g.address(r)
	}
	for _, f := range []*string{&v.email, &v.phone, &v.birth, &v.postal, &v.city, &v.address} {
		if chance(d.Missing) {
			*f = ""
		}
	}
	if chance(d.BadEmail) && v.email != "" {
		v.email = ""
		tags |= TagUnrepairedEmail
	}
	if chance(d.Sparse) { // names and one other field, nothing else
		keep := [...]*string{&v.email, &v.phone, &v.birth}[r.IntN(3)]
		kept := *keep
		v.email, v.phone, v.birth, v.postal, v.city, v.address = "", "", "", "", "", ""
		*keep = kept
		tags |= TagSparse
	}
	if v.email == "" && v.phone == "" && v.birth == "" { // a record needs something to be matched by
		v.email = p.email
	}
	return v, tags
}

// mobilePrefixes are the first two digits of valid Norwegian mobile numbers
// (libphonenumber's plan: 4[015-8] and 9): a generated number that the
// standardizer would refuse would test the generator, not the matching.
var mobilePrefixes = []string{"40", "41", "45", "46", "47", "48", "90", "91", "92", "93", "94", "95", "96", "97", "98", "99"}

// phoneBook is the mobile numbers given out, by prefix index and subscriber
// number.
type phoneBook map[uint32]struct{}

// draw is a valid Norwegian mobile number in E.164 that no one was given yet
// (once nine in ten numbers are taken, repeats are allowed rather than
// searching on).
func (b phoneBook) draw(r *rand.Rand) string {
	for {
		prefix, sub := r.IntN(len(mobilePrefixes)), r.IntN(1000000)
		k := uint32(prefix*1000000 + sub)
		if _, taken := b[k]; !taken || len(b) >= len(mobilePrefixes)*900000 {
			b[k] = struct{}{}
			return fmt.Sprintf("+47%s%06d", mobilePrefixes[prefix], sub)
		}
	}
}

// nicknameOf is the first nickname (in sorted order) of a canonical name, or "":
// the generator must not depend on map order.
func nicknameOf(canon string) string {
	best := ""
	for nick, c := range nicknames {
		if c == canon && nick != canon && (best == "" || nick < best) {
			best = nick
		}
	}
	return best
}

// typo changes one letter: a substitution, deletion, insertion or transposition.
func typo(r *rand.Rand, s string) string {
	rs := []rune(s)
	if len(rs) < 3 {
		return s
	}
	i := 1 + r.IntN(len(rs)-2)
	switch r.IntN(4) {
	case 0:
		rs[i] = rune('a' + r.IntN(26))
	case 1:
		rs = append(rs[:i], rs[i+1:]...)
	case 2:
		rs = append(rs[:i], append([]rune{rune('a' + r.IntN(26))}, rs[i:]...)...)
	default:
		rs[i], rs[i+1] = rs[i+1], rs[i]
	}
	return string(rs)
}

// Evaluation compares a resolution with the truth.
type Evaluation struct {
	TruePairs, PredictedPairs, CorrectPairs int64
	Precision, Recall, F1                   float64
	// People with several records whose records form exactly one cluster, no more.
	ExactClusters, MultiRecordPeople int
}

// Evaluate scores res against the labels: pairwise precision, recall and F1, and
// the share of people resolved into exactly their own cluster.
func Evaluate(labeled []Labeled, res *Result) Evaluation {
	entities := make([]int, len(labeled))
	ids := make([]string, len(labeled))
	for i := range labeled {
		entities[i], ids[i] = labeled[i].Entity, labeled[i].ID
	}
	return EvaluateIDs(ids, entities, res)
}

// EvaluateIDs is Evaluate over record ids and their true entities.
func EvaluateIDs(ids []string, entities []int, res *Result) Evaluation {
	var ev Evaluation
	type key struct {
		cluster string
		entity  int
	}
	byBoth, byCluster, byEntity := map[key]int64{}, map[string]int64{}, map[int]int64{}
	firstCluster := map[int]string{} // an entity's first cluster, or "" once it has two
	for i, id := range ids {
		c, e := res.ClusterOf[id], entities[i]
		byBoth[key{c, e}]++
		byCluster[c]++
		byEntity[e]++
		if fc, seen := firstCluster[e]; !seen {
			firstCluster[e] = c
		} else if fc != c {
			firstCluster[e] = ""
		}
	}
	pairs := func(n int64) int64 { return n * (n - 1) / 2 }
	for _, n := range byBoth {
		ev.CorrectPairs += pairs(n)
	}
	for _, n := range byCluster {
		ev.PredictedPairs += pairs(n)
	}
	for e, n := range byEntity {
		ev.TruePairs += pairs(n)
		if n > 1 {
			ev.MultiRecordPeople++
			if c := firstCluster[e]; c != "" && byCluster[c] == n {
				ev.ExactClusters++
			}
		}
	}
	if ev.PredictedPairs > 0 {
		ev.Precision = float64(ev.CorrectPairs) / float64(ev.PredictedPairs)
	}
	if ev.TruePairs > 0 {
		ev.Recall = float64(ev.CorrectPairs) / float64(ev.TruePairs)
	}
	if ev.Precision+ev.Recall > 0 {
		ev.F1 = 2 * ev.Precision * ev.Recall / (ev.Precision + ev.Recall)
	}
	return ev
}

// Records strips the labels.
func Records(labeled []Labeled) []Record {
	out := make([]Record, len(labeled))
	for i := range labeled {
		out[i] = labeled[i].Record
	}
	return out
}

// TagEvaluation is precision and recall over the pairs that involve a record
// showing one phenomenon. For look-alikes (other people, usually alone) recall
// has no pairs to count: precision says how often they were wrongly merged.
type TagEvaluation struct {
	Tag                                     Tag
	Records                                 int
	TruePairs, PredictedPairs, CorrectPairs int64
	Precision, Recall                       float64 // 1 when there is nothing to get wrong
}

// EvaluateTags scores res per tag: for each tag, the pairs with at least one
// record showing it. It sorts record indexes once by (cluster, entity) and once
// by entity, and counts runs, so a million records cost a few slices, not maps.
func EvaluateTags(ids []string, entities []int, tags []Tag, res *Result) []TagEvaluation {
	clusterIdx := make(map[string]int32, len(ids)/2)
	cluster := make([]int32, len(ids))
	for i, id := range ids {
		c := res.ClusterOf[id]
		ci, ok := clusterIdx[c]
		if !ok {
			ci = int32(len(clusterIdx))
			clusterIdx[c] = ci
		}
		cluster[i] = ci
	}
	clusterIdx = nil
	byCluster := make([]int32, len(ids))
	for i := range byCluster {
		byCluster[i] = int32(i)
	}
	byEntity := slices.Clone(byCluster)
	slices.SortFunc(byCluster, func(a, b int32) int {
		return cmp.Or(cmp.Compare(cluster[a], cluster[b]), cmp.Compare(entities[a], entities[b]))
	})
	slices.SortFunc(byEntity, func(a, b int32) int { return cmp.Compare(entities[a], entities[b]) })
	pairs := func(n int64) int64 { return n * (n - 1) / 2 }
	withTag := func(n, k int64) int64 { return pairs(n) - pairs(n-k) } // all pairs less the untagged ones
	// runs sums withTag over the runs of order in which same() holds.
	runs := func(order []int32, tag Tag, same func(a, b int32) bool) int64 {
		var total, n, k int64
		for i, r := range order {
			if i > 0 && !same(order[i-1], r) {
				total += withTag(n, k)
				n, k = 0, 0
			}
			n++
			if tags[r]&tag != 0 {
				k++
			}
		}
		return total + withTag(n, k)
	}
	sameCluster := func(a, b int32) bool { return cluster[a] == cluster[b] }
	sameBoth := func(a, b int32) bool { return cluster[a] == cluster[b] && entities[a] == entities[b] }
	sameEntity := func(a, b int32) bool { return entities[a] == entities[b] }
	out := make([]TagEvaluation, 0, len(tagNames))
	for ti := range tagNames {
		te := TagEvaluation{Tag: Tag(1) << ti}
		for _, t := range tags {
			if t&te.Tag != 0 {
				te.Records++
			}
		}
		if te.Records == 0 {
			continue
		}
		te.CorrectPairs = runs(byCluster, te.Tag, sameBoth)
		te.PredictedPairs = runs(byCluster, te.Tag, sameCluster)
		te.TruePairs = runs(byEntity, te.Tag, sameEntity)
		te.Precision, te.Recall = 1, 1
		if te.PredictedPairs > 0 {
			te.Precision = float64(te.CorrectPairs) / float64(te.PredictedPairs)
		}
		if te.TruePairs > 0 {
			te.Recall = float64(te.CorrectPairs) / float64(te.TruePairs)
		}
		out = append(out, te)
	}
	return out
}
