package dedup

import (
	"slices"
	"strings"
)

// A blocking rule proposes candidate pairs: records with the same key. Rules are
// OR-ed: a pair is compared when any rule proposes it.
type rule struct {
	name string
	key  func(n *normalized) string // "" when the record has no key
}

var rules = []rule{
	{"email", func(n *normalized) string { return n.email }},
	{"phone", func(n *normalized) string { return n.phone }},
	{"crm_id", func(n *normalized) string { return n.crm }},
	{"soundex(last)+first initial+postal", func(n *normalized) string {
		if n.soundex == "" || n.first == "" || n.postal == "" {
			return ""
		}
		return n.soundex + n.first[:1] + n.postal
	}},
	{"street address+city (or postal code)+first initial", func(n *normalized) string {
		// A household's members share the address: blocks stay small, and
		// they find a person's records that share nothing else. The street
		// alone is not enough: "Storgata 1" is in every town.
		place := n.city
		if place == "" {
			place = n.postal
		}
		if n.address == "" || place == "" || n.first == "" {
			return ""
		}
		return n.address + "|" + place + "|" + n.first[:1]
	}},
	{"first name+birth date", func(n *normalized) string {
		if n.firstCanon == "" || n.birth == 0 {
			return ""
		}
		return n.firstCanon + n.birthISO
	}},
	{"last name+birth date", func(n *normalized) string {
		if n.last == "" || n.birth == 0 {
			return ""
		}
		return n.last + n.birthISO
	}},
	{"both names in either order+birth date", func(n *normalized) string {
		// Finds first and last written the other way round, which the two
		// rules above miss.
		if n.firstCanon == "" || n.last == "" || n.birth == 0 {
			return ""
		}
		a, b := n.firstCanon, n.last
		if b < a {
			a, b = b, a
		}
		return a + "|" + b + n.birthISO
	}},
}

// keyed is one record's key under one rule.
type keyed struct {
	h  uint64
	id int32
}

// hashKey is 64-bit FNV-1a: fixed, so runs are repeatable.
func hashKey(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// blockKeys returns the sorted keys of every record under rule ri.
func blockKeys(recs []normalized, ri int, from int) []keyed {
	out := make([]keyed, 0, len(recs)+len(recs)/16) // headroom for incremental runs
	for i := range recs {
		if k := rules[ri].key(&recs[i]); k != "" {
			out = append(out, keyed{hashKey(k) ^ uint64(ri)<<58, int32(from + i)})
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
	keys := make([]int64, 0, len(rules))
	for ri := range rules {
		if k := rules[ri].key(&n); k != "" {
			keys = append(keys, int64(hashKey(k)^uint64(ri)<<58))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
