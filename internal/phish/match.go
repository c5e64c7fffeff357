package phish

import (
	"strings"
	"unicode/utf8"
)

// matcher finds which keywords occur in a text in one pass: an
// Aho-Corasick automaton over bytes, with the transitions precomputed and
// the bytes that occur in no keyword folded into one class. ASCII upper
// case shares the class of lower case, so ASCII text is searched without
// a lower-cased copy; other text is lower-cased once.
type matcher struct {
	words  []string
	class  [256]uint8
	nclass int
	delta  []int32 // state*nclass + class -> state
	term   []int32 // the word ending at a state, or -1
	dict   []int32 // the nearest state on the failure chain where a word ends, or -1
	naive  bool    // too large for tables: strings.Contains per word

	subjects [][]int32
	targets  []targetRules // sorted by name
}

type targetRules struct {
	name  string
	rules [][]int32
}

// maxCells bounds the transition table (16 MiB).
const maxCells = 1 << 22

// compiled returns the matcher of l, building it on first use.
func (l *Lists) compiled() *matcher {
	if m := l.m.Load(); m != nil {
		return m
	}
	m := newMatcher(l)
	l.m.Store(m)
	return m
}

func newMatcher(l *Lists) *matcher {
	m := &matcher{}
	ids := make(map[string]int32)
	rule := func(r Rule) []int32 {
		var out []int32
		for _, w := range r {
			w = strings.ToLower(w)
			if w == "" {
				continue
			}
			id, ok := ids[w]
			if !ok {
				id = int32(len(m.words))
				ids[w] = id
				m.words = append(m.words, w)
			}
			out = append(out, id)
		}
		return out
	}
	for _, r := range l.Subjects {
		if ids := rule(r); len(ids) > 0 {
			m.subjects = append(m.subjects, ids)
		}
	}
	for _, name := range l.targetNames() {
		t := targetRules{name: name}
		for _, r := range l.Targets[name] {
			if ids := rule(r); len(ids) > 0 {
				t.rules = append(t.rules, ids)
			}
		}
		m.targets = append(m.targets, t)
	}
	m.build()
	return m
}

func (m *matcher) build() {
	// Byte classes.
	n := 1
	for _, w := range m.words {
		for i := 0; i < len(w); i++ {
			if c := w[i]; m.class[c] == 0 {
				if n == 256 {
					m.naive = true
					return
				}
				m.class[c] = uint8(n)
				n++
			}
		}
	}
	for c := 'a'; c <= 'z'; c++ {
		m.class[c-'a'+'A'] = m.class[c]
	}
	m.nclass = n

	// The trie.
	type edge struct {
		from  int32
		class uint8
	}
	children := make(map[edge]int32)
	term := []int32{-1}
	for id, w := range m.words {
		s := int32(0)
		for i := 0; i < len(w); i++ {
			e := edge{s, m.class[w[i]]}
			next, ok := children[e]
			if !ok {
				next = int32(len(term))
				term = append(term, -1)
				children[e] = next
			}
			s = next
		}
		term[s] = int32(id)
	}
	states := len(term)
	if states*n > maxCells {
		m.naive = true
		return
	}

	// Failure links, breadth first, folded into the transition table.
	m.term = term
	m.delta = make([]int32, states*n)
	m.dict = make([]int32, states)
	fail := make([]int32, states)
	m.dict[0] = -1
	queue := make([]int32, 0, states)
	for c := 1; c < n; c++ {
		if next, ok := children[edge{0, uint8(c)}]; ok {
			m.delta[c] = next
			fail[next] = 0
			m.dict[next] = -1
			queue = append(queue, next)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c := 1; c < n; c++ {
			next, ok := children[edge{s, uint8(c)}]
			if !ok {
				m.delta[int(s)*n+c] = m.delta[int(fail[s])*n+c]
				continue
			}
			m.delta[int(s)*n+c] = next
			f := m.delta[int(fail[s])*n+c]
			fail[next] = f
			if term[f] >= 0 {
				m.dict[next] = f
			} else {
				m.dict[next] = m.dict[f]
			}
			queue = append(queue, next)
		}
	}
}

// scan marks in hits (one entry per word) the words that occur in text.
func (m *matcher) scan(text string, hits []bool) {
	if len(m.words) == 0 || text == "" {
		return
	}
	if !isASCII(text) {
		text = strings.ToLower(text)
	} else if m.naive {
		text = strings.ToLower(text)
	}
	if m.naive {
		for i, w := range m.words {
			if !hits[i] && strings.Contains(text, w) {
				hits[i] = true
			}
		}
		return
	}
	n := m.nclass
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = m.delta[int(s)*n+int(m.class[text[i]])]
		t := s
		if m.term[t] < 0 {
			t = m.dict[t]
		}
		// The chain below a word already found was marked with it.
		for t >= 0 && !hits[m.term[t]] {
			hits[m.term[t]] = true
			t = m.dict[t]
		}
	}
}

// newHits returns a cleared hit set for m.
func (m *matcher) newHits() []bool { return make([]bool, len(m.words)) }

func anyRule(rules [][]int32, hits []bool) bool {
	for _, r := range rules {
		all := true
		for _, id := range r {
			if !hits[id] {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// matchTargets appends to names the targets with a matching rule and
// reports whether there was one.
func (m *matcher) matchTargets(hits []bool, names *[]string) bool {
	found := false
	for _, t := range m.targets {
		if anyRule(t.rules, hits) {
			found = true
			if names != nil {
				*names = append(*names, t.name)
			}
		}
	}
	return found
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
