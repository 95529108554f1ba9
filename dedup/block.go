package dedup

import (
	"slices"
	"strings"
)

// A blocking rule proposes candidate pairs: records with the same key. Rules are
// OR-ed: a pair is compared when any rule proposes it. A rule's key is the hash
// of the strings it names, one after another, and says whether the record has
// one (not when a string it needs is empty).
type rule struct {
	name string
	key  func(n *normalized) (keyHash, bool)
}

// ruleCount is how many rules there are: a normalized record keeps its key
// under each.
const ruleCount = 8

var _ [ruleCount]rule = rules // the count is the rules'

var rules = [...]rule{
	{"email", func(n *normalized) (keyHash, bool) { return newKeyHash.add(n.email), n.email != "" }},
	{"phone", func(n *normalized) (keyHash, bool) { return newKeyHash.add(n.phone), n.phone != "" }},
	{"crm_id", func(n *normalized) (keyHash, bool) { return newKeyHash.add(n.crm), n.crm != "" }},
	{"soundex(last)+first initial+postal", func(n *normalized) (keyHash, bool) {
		if n.soundex == "" || n.first == "" || n.postal == "" {
			return 0, false
		}
		return newKeyHash.add(n.soundex).add(n.first[:1]).add(n.postal), true
	}},
	{"street address+city (or postal code)+first initial", func(n *normalized) (keyHash, bool) {
		// A household's members share the address: blocks stay small, and
		// they find a person's records that share nothing else. The street
		// alone is not enough: "Storgata 1" is in every town.
		place := n.city
		if place == "" {
			place = n.postal
		}
		if n.address == "" || place == "" || n.first == "" {
			return 0, false
		}
		return newKeyHash.add(n.address).add("|").add(place).add("|").add(n.first[:1]), true
	}},
	{"first name+birth date", func(n *normalized) (keyHash, bool) {
		if n.firstCanon == "" || n.birth == 0 {
			return 0, false
		}
		return newKeyHash.add(n.firstCanon).add(n.birthISO), true
	}},
	{"last name+birth date", func(n *normalized) (keyHash, bool) {
		if n.last == "" || n.birth == 0 {
			return 0, false
		}
		return newKeyHash.add(n.last).add(n.birthISO), true
	}},
	{"both names in either order+birth date", func(n *normalized) (keyHash, bool) {
		// Finds first and last written the other way round, which the two
		// rules above miss.
		if n.firstCanon == "" || n.last == "" || n.birth == 0 {
			return 0, false
		}
		a, b := n.firstCanon, n.last
		if b < a {
			a, b = b, a
		}
		return newKeyHash.add(a).add("|").add(b).add(n.birthISO), true
	}},
}

// keyed is one record's key under one rule.
type keyed struct {
	h  uint64
	id int32
}

// keyHash is 64-bit FNV-1a, fixed so that runs are repeatable and stored keys
// stay valid; strings added one after another hash as their concatenation,
// with nothing allocated.
type keyHash uint64

const newKeyHash keyHash = 14695981039346656037

func (h keyHash) add(s string) keyHash {
	for i := 0; i < len(s); i++ {
		h ^= keyHash(s[i])
		h *= 1099511628211
	}
	return h
}

// hashKey is the keyHash of s.
func hashKey(s string) uint64 { return uint64(newKeyHash.add(s)) }

// ruleKeys are a record's blocking keys by rule (the rule's index in the top
// bits, so two rules' keys never meet) and the rules that gave one, a bit
// each.
func ruleKeys(n *normalized) (keys [ruleCount]int64, has uint8) {
	for ri := range rules {
		if h, ok := rules[ri].key(n); ok {
			keys[ri], has = int64(uint64(h)^uint64(ri)<<58), has|1<<ri
		}
	}
	return keys, has
}

// sharedKey is the key two records share under rule ri, if they do.
func sharedKey(a, b *normalized, ri int) (int64, bool) {
	return a.keys[ri], a.hasKey&b.hasKey&(1<<ri) != 0 && a.keys[ri] == b.keys[ri]
}

// blockKeys returns the sorted keys of every record under rule ri.
func blockKeys(recs []normalized, ri int, from int) []keyed {
	out := make([]keyed, 0, len(recs)+len(recs)/16) // headroom for incremental runs
	for i := range recs {
		if recs[i].hasKey&(1<<ri) != 0 {
			out = append(out, keyed{uint64(recs[i].keys[ri]), int32(from + i)})
		}
	}
	slices.SortFunc(out, func(a, b keyed) int {
		if a.h != b.h {
			if a.h < b.h {
				return -1
			}
			return 1
		}
		return int(a.id - b.id)
	})
	return out
}

// pairsInBlocks appends the candidate pairs of sorted keys: every pair in a block
// up to maxBlock records; in a larger block each record with its window nearest
// neighbours in name order (sorted neighbourhood), so the comparisons per record
// stay bounded however large a block grows.
func pairsInBlocks(keys []keyed, recs []normalized, records []Record, maxBlock, window int, out []uint64, stats *Stats) []uint64 {
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j].h == keys[i].h {
			j++
		}
		block := keys[i:j]
		if len(block) <= maxBlock {
			for a := 0; a < len(block); a++ {
				for b := a + 1; b < len(block); b++ {
					out = append(out, pairKey(block[a].id, block[b].id))
				}
			}
		} else {
			stats.OversizedBlocks++
			ids := make([]int32, len(block))
			for k := range block {
				ids[k] = block[k].id
			}
			slices.SortFunc(ids, func(x, y int32) int {
				nx, ny := &recs[x], &recs[y]
				if nx.last != ny.last {
					if nx.last < ny.last {
						return -1
					}
					return 1
				}
				if nx.first < ny.first {
					return -1
				} else if nx.first > ny.first {
					return 1
				}
				// Then by record id, not position: a partition of the key
				// space holds the same block in another order.
				return strings.Compare(records[x].ID, records[y].ID)
			})
			for a := range ids {
				for b := a + 1; b < len(ids) && b <= a+window; b++ {
					out = append(out, pairKey(ids[a], ids[b]))
				}
			}
		}
		i = j
	}
	return out
}

func pairKey(a, b int32) uint64 {
	if a > b {
		a, b = b, a
	}
	return uint64(a)<<32 | uint64(uint32(b))
}

func unpair(k uint64) (int32, int32) { return int32(k >> 32), int32(uint32(k)) }

// BlockingKeys are a record's keys under every blocking rule, as the in-memory
// blocking hashes them (the rule's number in the top bits): what the store
// keeps per contact, so a new record finds its candidates with an index lookup
// and a full run can be split by key. Sorted, without repeats.
func BlockingKeys(r *Record) []int64 {
	n := normalize(r)
	keys := make([]int64, 0, ruleCount)
	for ri := range rules {
		if n.hasKey&(1<<ri) != 0 {
			keys = append(keys, n.keys[ri])
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
