package quality

import (
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// digitDFA matches whole strings of ASCII digits against a regular expression,
// with one table lookup per digit. Phone number patterns are regular expressions
// over digits only; a deterministic automaton built once per pattern answers in
// a few nanoseconds where the regexp package's backtracker takes hundreds.
type digitDFA struct {
	next   [][10]int32 // state → digit → state; dead is -1
	accept []bool
}

// maxDFAStates bounds the automaton of one pattern; a larger one falls back to
// the regexp package.
const maxDFAStates = 4096

// compileDigitDFA builds the automaton of pattern (matched whole), or returns
// false when the pattern has constructs it does not model or is too large.
func compileDigitDFA(pattern string) (*digitDFA, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, false
	}
	for _, in := range prog.Inst {
		switch in.Op {
		case syntax.InstEmptyWidth:
			return nil, false // anchors and word boundaries: not in number patterns
		case syntax.InstRune, syntax.InstRune1:
			if syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
				return nil, false
			}
		}
	}
	d := &digitDFA{}
	ids := map[string]int32{}
	var queue [][]uint32
	add := func(set []uint32) int32 {
		key := setKey(set)
		if id, ok := ids[key]; ok {
			return id
		}
		id := int32(len(d.next))
		ids[key] = id
		d.next = append(d.next, [10]int32{})
		d.accept = append(d.accept, slices.ContainsFunc(set, func(pc uint32) bool { return prog.Inst[pc].Op == syntax.InstMatch }))
		queue = append(queue, set)
		return id
	}
	add(closure(prog, []uint32{uint32(prog.Start)}))
	for i := 0; i < len(queue); i++ {
		if len(d.next) > maxDFAStates {
			return nil, false
		}
		set := queue[i]
		for digit := range 10 {
			r := rune('0' + digit)
			var step []uint32
			for _, pc := range set {
				in := &prog.Inst[pc]
				switch in.Op {
				case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
					if in.MatchRune(r) {
						step = append(step, in.Out)
					}
				}
			}
			if len(step) == 0 {
				d.next[i][digit] = -1
				continue
			}
			d.next[i][digit] = add(closure(prog, step))
		}
	}
	return d, true
}

// closure follows the empty transitions from pcs and returns the sorted set of
// instructions that consume a rune or match.
func closure(prog *syntax.Prog, pcs []uint32) []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	stack := slices.Clone(pcs)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		in := &prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Out, in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		case syntax.InstFail:
		default:
			out = append(out, pc)
		}
	}
	slices.Sort(out)
	return out
}

func setKey(set []uint32) string {
	var b strings.Builder
	for _, pc := range set {
		b.WriteString(strconv.FormatUint(uint64(pc), 36))
		b.WriteByte(',')
	}
	return b.String()
}

// match reports whether s, a string of ASCII digits, matches whole.
func (d *digitDFA) match(s string) bool {
	state := int32(0)
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return false
		}
		if state = d.next[state][c]; state < 0 {
			return false
		}
	}
	return d.accept[state]
}
