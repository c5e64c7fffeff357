package phish

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"
)

// Rule is one keyword rule: it matches a text when every word is a
// case-insensitive substring of it, as in SpamScope. A rule without words
// never matches.
type Rule []string

// Lists are the keyword lists of the bitmap: the subject rules and, per
// target name, the target rules. A list matches when any of its rules
// does.
//
// A Lists may be built by hand or read with ParseLists or LoadLists. It
// is read by Check, which compiles the words once into a matcher kept in
// the value, so a Lists must not be changed or copied once Check has used
// it.
type Lists struct {
	Subjects []Rule
	Targets  map[string][]Rule // "PayPal": [[paypal], [pay, pal]]

	m atomic.Pointer[matcher]
}

// Errors of a keyword file, wrapped in a *ParseError.
var (
	ErrNotList   = errors.New("want a list of rules")
	ErrNotMap    = errors.New("want a map of target names to lists of rules")
	ErrBadRule   = errors.New("a rule is a string of words or a list of words")
	ErrEmptyRule = errors.New("empty rule")
	ErrBadName   = errors.New("a target name must be a non-empty string")
	ErrTooLarge  = errors.New("too many rules or words")
)

// ParseError is a bad place in a keyword file.
type ParseError struct {
	File string
	Line int // 1-based; 0 when unknown
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("phish: keywords %s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("phish: keywords %s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// maxNodes bounds the YAML nodes visited in one file, aliases included, so
// that an alias bomb cannot make parsing explode.
const maxNodes = 1 << 17

// ParseLists reads one keyword file in YAML. A list of rules gives
// Subjects; a map from target name to a list of rules gives Targets. A
// rule is a string of blank-separated words ("google drive" means google
// AND drive) or a list of words; numbers and other scalars are taken as
// written, and words are lower-cased. An empty document gives empty lists.
// name is used in errors only. Errors are *ParseError values naming the
// file and the line.
func ParseLists(name string, data []byte) (*Lists, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	p := listParser{file: name}
	l := &Lists{}
	root := &doc
	if root.Kind == 0 {
		return l, nil // no document
	}
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return l, nil
		}
		root = root.Content[0]
	}
	root = p.resolve(root)
	switch {
	case root.Kind == yaml.SequenceNode:
		rules, err := p.rules(root)
		if err != nil {
			return nil, err
		}
		l.Subjects = rules
	case root.Kind == yaml.MappingNode:
		targets, err := p.targets(root)
		if err != nil {
			return nil, err
		}
		l.Targets = targets
	case isNull(root):
	default:
		return nil, &ParseError{File: name, Line: root.Line, Err: ErrNotList}
	}
	return l, nil
}

type listParser struct {
	file  string
	nodes int
}

func (p *listParser) fail(n *yaml.Node, err error) error {
	return &ParseError{File: p.file, Line: n.Line, Err: err}
}

// resolve follows aliases.
func (p *listParser) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func (p *listParser) visit(n *yaml.Node) error {
	p.nodes++
	if p.nodes > maxNodes {
		return p.fail(n, ErrTooLarge)
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func (p *listParser) rules(seq *yaml.Node) ([]Rule, error) {
	var out []Rule
	for _, item := range seq.Content {
		item = p.resolve(item)
		if err := p.visit(item); err != nil {
			return nil, err
		}
		var r Rule
		switch item.Kind {
		case yaml.ScalarNode:
			if isNull(item) {
				return nil, p.fail(item, ErrEmptyRule)
			}
			r = words(r, item.Value)
		case yaml.SequenceNode:
			for _, w := range item.Content {
				w = p.resolve(w)
				if err := p.visit(w); err != nil {
					return nil, err
				}
				if w.Kind != yaml.ScalarNode || isNull(w) {
					return nil, p.fail(w, ErrBadRule)
				}
				r = words(r, w.Value)
			}
		default:
			return nil, p.fail(item, ErrBadRule)
		}
		if len(r) == 0 {
			return nil, p.fail(item, ErrEmptyRule)
		}
		out = append(out, r)
	}
	return out, nil
}

func (p *listParser) targets(m *yaml.Node) (map[string][]Rule, error) {
	out := make(map[string][]Rule)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := p.resolve(m.Content[i]), p.resolve(m.Content[i+1])
		if err := p.visit(v); err != nil {
			return nil, err
		}
		if k.Kind != yaml.ScalarNode || isNull(k) || strings.TrimSpace(k.Value) == "" {
			return nil, p.fail(k, ErrBadName)
		}
		name := strings.TrimSpace(k.Value)
		var rules []Rule
		switch {
		case isNull(v):
		case v.Kind == yaml.ScalarNode:
			r := words(nil, v.Value)
			if len(r) == 0 {
				return nil, p.fail(v, ErrEmptyRule)
			}
			rules = []Rule{r}
		case v.Kind == yaml.SequenceNode:
			var err error
			if rules, err = p.rules(v); err != nil {
				return nil, err
			}
		default:
			return nil, p.fail(v, ErrNotList)
		}
		out[name] = rules // a later entry of the same name replaces
	}
	return out, nil
}

// words appends the lower-cased blank-separated words of s to r.
func words(r Rule, s string) Rule {
	for _, w := range strings.Fields(s) {
		r = append(r, strings.ToLower(w))
	}
	return r
}

// LoadLists reads and merges keyword files: the subject files must hold
// lists of rules, the target files maps of target lists. Subject rules are
// appended in order; a target named again in a later file replaces the
// earlier one, as in SpamScope.
func LoadLists(subjectFiles, targetFiles []string) (*Lists, error) {
	out := &Lists{Targets: make(map[string][]Rule)}
	for _, f := range subjectFiles {
		l, err := readLists(f, yaml.SequenceNode)
		if err != nil {
			return nil, err
		}
		out.Subjects = append(out.Subjects, l.Subjects...)
	}
	for _, f := range targetFiles {
		l, err := readLists(f, yaml.MappingNode)
		if err != nil {
			return nil, err
		}
		for name, rules := range l.Targets {
			out.Targets[name] = rules
		}
	}
	return out, nil
}

func readLists(path string, want yaml.Kind) (*Lists, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("phish: keywords: %w", err)
	}
	l, err := ParseLists(path, data)
	if err != nil {
		return nil, err
	}
	switch {
	case want == yaml.SequenceNode && l.Targets != nil:
		return nil, &ParseError{File: path, Line: firstLine(data), Err: ErrNotList}
	case want == yaml.MappingNode && l.Subjects != nil:
		return nil, &ParseError{File: path, Line: firstLine(data), Err: ErrNotMap}
	}
	return l, nil
}

// firstLine returns the line of the first node of a YAML document that
// parsed, or 0.
func firstLine(data []byte) int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	return doc.Content[0].Line
}

// Keywords holds Lists read from files and read again when a file
// changes. Reload is cheap when nothing changed (one stat per file), so
// callers may call it before every use or on a timer; Current never
// touches the files. The zero value holds empty lists. It is safe for
// concurrent use.
type Keywords struct {
	cur atomic.Pointer[Lists]

	mu       sync.Mutex // serialises Load and Reload
	subjects []string
	targets  []string
	stamps   []stamp // of the files last read, subjects then targets
}

type stamp struct {
	mod  time.Time
	size int64
}

// LoadKeywords reads the subject and target files (see LoadLists). Either
// list may be empty.
func LoadKeywords(subjectFiles, targetFiles []string) (*Keywords, error) {
	k := &Keywords{}
	if err := k.Load(subjectFiles, targetFiles); err != nil {
		return nil, err
	}
	return k, nil
}

// Load replaces the files k reads and reads them. On error the lists in
// use are kept.
func (k *Keywords) Load(subjectFiles, targetFiles []string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.subjects = append([]string(nil), subjectFiles...)
	k.targets = append([]string(nil), targetFiles...)
	k.stamps = nil
	_, err := k.reload()
	return err
}

// Reload reads the files again if the modification time or size of any
// changed since they were last read, and reports whether new lists are in
// use. When a file is broken or cannot be read, the lists in use are kept
// and the error returned; broken files are not read again until one of the
// files changes.
func (k *Keywords) Reload() (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reload()
}

func (k *Keywords) reload() (bool, error) {
	files := append(append([]string(nil), k.subjects...), k.targets...)
	stamps := make([]stamp, len(files))
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return false, fmt.Errorf("phish: keywords: %w", err)
		}
		stamps[i] = stamp{fi.ModTime(), fi.Size()}
	}
	if k.cur.Load() != nil && equalStamps(stamps, k.stamps) {
		return false, nil
	}
	k.stamps = stamps
	l, err := LoadLists(k.subjects, k.targets)
	if err != nil {
		return false, err
	}
	l.compiled()
	k.cur.Store(l)
	return true, nil
}

func equalStamps(a, b []stamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].mod.Equal(b[i].mod) || a[i].size != b[i].size {
			return false
		}
	}
	return true
}

// empty is what a Keywords holds before it read anything.
var empty = &Lists{}

// Current returns the lists in use. It never returns nil.
func (k *Keywords) Current() *Lists {
	if l := k.cur.Load(); l != nil {
		return l
	}
	return empty
}

// targetNames returns the target names in sorted order.
func (l *Lists) targetNames() []string {
	names := make([]string, 0, len(l.Targets))
	for n := range l.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
