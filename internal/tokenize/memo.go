package tokenize

import (
	"maps"
	"regexp"
	"sync"
	"sync/atomic"
)

// matchMemo remembers which strings a regexp matches, for strings that
// recur from mail to mail: header names, tag/attribute pairs. Answers are
// keyed by the regexp's source, so every regexp compiled from the same
// pattern shares them. Reading takes no lock: the maps are never changed
// once published, and an addition publishes new ones.
//
// The memo is bounded, since spam invents names without end: past
// maxMemo answers, new strings are matched every time.
type matchMemo struct {
	mu      sync.Mutex
	size    int
	answers atomic.Pointer[map[string]map[string]bool] // pattern -> string -> match
}

const maxMemo = 1024

// known returns the answers remembered for re. The map must not be
// changed.
func (m *matchMemo) known(re *regexp.Regexp) map[string]bool {
	if a := m.answers.Load(); a != nil {
		return (*a)[re.String()]
	}
	return nil
}

// add remembers that re matches s or not, and returns the answers now
// known for re.
func (m *matchMemo) add(re *regexp.Regexp, s string, match bool) map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all map[string]map[string]bool
	if a := m.answers.Load(); a != nil {
		all = *a
	}
	pattern := re.String()
	if _, ok := all[pattern][s]; ok || m.size >= maxMemo {
		return all[pattern]
	}
	answers := maps.Clone(all[pattern])
	if answers == nil {
		answers = map[string]bool{}
	}
	answers[s] = match
	next := maps.Clone(all)
	if next == nil {
		next = map[string]map[string]bool{}
	}
	next[pattern] = answers
	m.size++
	m.answers.Store(&next)
	return answers
}
