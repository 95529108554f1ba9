// Clustering: the linked records become clusters, each guarded against
// chaining (a cluster whose members do not all match is split), with its golden
// record.

package dedup

import (
	"cmp"
	"slices"
)

// result builds the clusters, guarding them against chaining, and their golden
// records.
func (x *Index) result() *Result {
	groups := map[int32][]int32{}
	for i := range x.recs {
		r := x.find(int32(i))
		groups[r] = append(groups[r], int32(i))
	}
	res := &Result{ClusterOf: make(map[string]string, len(x.recs)), Model: x.model}
	roots := make([]int32, 0, len(groups))
	for r := range groups {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	for _, r := range roots {
		x.cluster(res, groups[r])
	}
	x.res = res
	return x.finish()
}

// cluster adds the clusters of one connected component to res.
func (x *Index) cluster(res *Result, members []int32) {
	if len(members) == 1 {
		res.ClusterOf[x.recs[members[0]].ID] = x.recs[members[0]].ID
		return
	}
	for _, group := range x.cannotLink(members, &x.split) {
		for _, part := range x.guard(group, &x.split) {
			x.addCluster(res, part)
		}
	}
}

// cannotLink re-clusters a component so that no cluster holds two records that
// are certainly different people (vetoed by the model, apart, or kept apart by a
// reviewer): a record missing its birth date can otherwise chain a junior and a
// senior together, and one missing its email, phone and address two namesakes.
// Links are applied strongest first, each only if it joins no such pair.
func (x *Index) cannotLink(members []int32, split *int) [][]int32 {
	if len(members) <= 2 || len(members) > 200 {
		return [][]int32{members}
	}
	type edge struct {
		a, b int
		p    float64
	}
	var edges []edge
	cannot := map[[2]int]bool{}
	for i, a := range members {
		for j := i + 1; j < len(members); j++ {
			b := members[j]
			merge, decided := x.decided[pairKey(a, b)]
			p := compare(&x.norms[a], &x.norms[b])
			_, possible := x.model.logOdds(p)
			possible = possible && !apart(p)
			switch {
			case decided && !merge, !decided && !possible:
				cannot[[2]int{i, j}] = true
			case decided && merge:
				edges = append(edges, edge{i, j, 1})
			default:
				if prob := x.probability(a, b, p); x.accepts(p, prob) {
					edges = append(edges, edge{i, j, prob})
				}
			}
		}
	}
	if len(cannot) == 0 {
		return [][]int32{members}
	}
	slices.SortStableFunc(edges, func(e, f edge) int { return cmp.Compare(f.p, e.p) })
	group := make([]int, len(members))
	for i := range group {
		group[i] = i
	}
	for _, e := range edges {
		ga, gb := group[e.a], group[e.b]
		if ga == gb {
			continue
		}
		ok := true
		for i := range members {
			for j := range members {
				if i < j && ((group[i] == ga && group[j] == gb) || (group[i] == gb && group[j] == ga)) && cannot[[2]int{i, j}] {
					ok = false
				}
			}
		}
		if !ok {
			continue
		}
		for i := range group {
			if group[i] == gb {
				group[i] = ga
			}
		}
	}
	byGroup := map[int][]int32{}
	var order []int
	for i, g := range group {
		if _, seen := byGroup[g]; !seen {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], members[i])
	}
	out := make([][]int32, 0, len(order))
	for _, g := range order {
		out = append(out, byGroup[g])
	}
	*split += len(out) - 1
	return out
}

// apart reports whether two records of one cluster cannot be one person though
// other records link them: their birth dates clearly differ (a junior and a
// senior), or they differ on every way to reach them — email, phone and address
// (namesakes, linked through a record that has none of those).
func apart(p pattern) bool {
	return p.level(fBirth) == 3 || elsewhere(p)
}

// finish brings the cached result's statistics and review queue up to date.
func (x *Index) finish() *Result {
	res := x.res
	res.Review = x.review
	res.Stats = x.stats
	res.Stats.Split = x.split
	for _, c := range res.Clusters {
		res.Stats.Clusters++
		res.Stats.Merged += len(c.Members) - 1
		if len(c.Members) > x.cfg.MaxCluster {
			res.Stats.Oversized++
		}
	}
	return res
}

func (x *Index) addCluster(res *Result, members []int32) {
	if len(members) == 1 {
		id := x.recs[members[0]].ID
		res.ClusterOf[id] = id
		return
	}
	// The oldest record survives: its id is the cluster's, so ids stay stable.
	slices.SortFunc(members, func(a, b int32) int {
		ra, rb := &x.recs[a], &x.recs[b]
		return cmp.Or(ra.CreatedAt.Compare(rb.CreatedAt), cmp.Compare(ra.ID, rb.ID))
	})
	c := Cluster{ID: x.recs[members[0]].ID}
	rs := make([]*Record, len(members))
	for i, m := range members {
		c.Members = append(c.Members, x.recs[m].ID)
		res.ClusterOf[x.recs[m].ID] = c.ID
		rs[i] = &x.recs[m]
	}
	c.Golden = GoldenRecord(rs)
	c.Weakest = x.weakest(members)
	res.Clusters = append(res.Clusters, c)
}

// linked reports whether two records are linked now, and how strongly: a
// reviewer's merge (or records known to be one person) at 1, else a pair the
// model accepts at its probability; a reviewer's keep-apart never.
func (x *Index) linked(a, b int32) (float64, bool) {
	if merge, decided := x.decided[pairKey(a, b)]; decided {
		return 1, merge
	}
	p := compare(&x.norms[a], &x.norms[b])
	prob := x.probability(a, b, p)
	return prob, x.accepts(p, prob)
}

// weakest is the bottleneck of a cluster's strongest spanning tree: links taken
// strongest first (Kruskal), the last one needed to join every member. A pair
// a reviewer merged counts as 1; a cluster held together only by links that no
// longer pass (an earlier run's) counts as 0.
func (x *Index) weakest(members []int32) float64 {
	type edge struct {
		a, b int
		p    float64
	}
	var edges []edge
	for i, a := range members {
		for j := i + 1; j < len(members); j++ {
			if p, ok := x.linked(a, members[j]); ok {
				edges = append(edges, edge{i, j, p})
			}
		}
	}
	slices.SortStableFunc(edges, func(e, f edge) int { return cmp.Compare(f.p, e.p) })
	parent := make([]int, len(members))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	joined, last := 1, 0.0
	for _, e := range edges {
		if ra, rb := find(e.a), find(e.b); ra != rb {
			parent[ra] = rb
			joined++
			last = e.p
			if joined == len(members) {
				return last
			}
		}
	}
	return 0
}

// guard splits a cluster that only chains together: every member must be within
// two accepted links of the cluster's centre (the member with most links);
// members further out form clusters of their own.
func (x *Index) guard(members []int32, split *int) [][]int32 {
	if len(members) <= 3 || len(members) > 200 {
		// Small ones cannot chain much; huge ones cost too much to check pair by
		// pair and are reported as oversized instead.
		return [][]int32{members}
	}
	in := map[int32]bool{}
	for _, m := range members {
		in[m] = true
	}
	adj := map[int32][]int32{}
	for i, a := range members {
		for _, b := range members[i+1:] {
			if _, ok := x.linked(a, b); ok {
				adj[a] = append(adj[a], b)
				adj[b] = append(adj[b], a)
			}
		}
	}
	centre := members[0]
	for _, m := range members {
		if len(adj[m]) > len(adj[centre]) {
			centre = m
		}
	}
	near := map[int32]bool{centre: true}
	for _, n := range adj[centre] {
		near[n] = true
		for _, nn := range adj[n] {
			near[nn] = true
		}
	}
	var kept, rest []int32
	for _, m := range members {
		if near[m] {
			kept = append(kept, m)
		} else {
			rest = append(rest, m)
		}
	}
	if len(rest) == 0 {
		return [][]int32{kept}
	}
	*split += len(rest)
	out := [][]int32{kept}
	// The rest: their own components over the accepted links among them.
	seen := map[int32]bool{}
	for _, m := range rest {
		if seen[m] {
			continue
		}
		var comp []int32
		stack := []int32{m}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[n] || near[n] {
				continue
			}
			seen[n] = true
			comp = append(comp, n)
			stack = append(stack, adj[n]...)
		}
		out = append(out, x.guard(comp, split)...)
	}
	return out
}
