package phish

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseListsSubjects(t *testing.T) {
	l, err := ParseLists("subjects.yml", []byte(`
- conferma
- Fattura
- 123456
- urgent INVOICE
- [google, Drive]
- 12.50
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{{"conferma"}, {"fattura"}, {"123456"}, {"urgent", "invoice"}, {"google", "drive"}, {"12.50"}}
	if !reflect.DeepEqual(l.Subjects, want) || l.Targets != nil {
		t.Errorf("got %q %v", l.Subjects, l.Targets)
	}
}

func TestParseListsTargets(t *testing.T) {
	l, err := ParseLists("targets.yml", []byte(`
Google: [gmail, "google drive"]
Amazon: amazon
"Banca Tizio":
  - tizio
  - Caio rossi
  - 12345
  - 123 456
Empty:
Amazon: [amazon, aws]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Rule{
		"Google":      {{"gmail"}, {"google", "drive"}},
		"Amazon":      {{"amazon"}, {"aws"}}, // the later entry replaces
		"Banca Tizio": {{"tizio"}, {"caio", "rossi"}, {"12345"}, {"123", "456"}},
		"Empty":       nil,
	}
	if !reflect.DeepEqual(l.Targets, want) {
		t.Errorf("got %q", l.Targets)
	}
}

func TestParseListsEmpty(t *testing.T) {
	for _, s := range []string{"", "# nothing\n", "~\n"} {
		l, err := ParseLists("e.yml", []byte(s))
		if err != nil || len(l.Subjects) != 0 || len(l.Targets) != 0 {
			t.Errorf("%q: %+v %v", s, l, err)
		}
	}
}

func TestParseListsErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		err       error
		line      int
	}{
		{"scalar", "just a word\n", ErrNotList, 1},
		{"empty rule", "- a\n- \"\"\n", ErrEmptyRule, 2},
		{"null rule", "- a\n-\n- b\n", ErrEmptyRule, 2},
		{"map rule", "- a\n- {x: y}\n", ErrBadRule, 2},
		{"nested list", "- a\n- [b, [c]]\n", ErrBadRule, 2},
		{"bad name", "? [a]\n: [b]\n", ErrBadName, 1},
		{"target map value", "PayPal:\n  x: y\n", ErrNotList, 2},
		{"target empty rule", "PayPal: [paypal, \"  \"]\n", ErrEmptyRule, 1},
		{"syntax", "- a\n  b: [\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLists("k.yml", []byte(tt.doc))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *ParseError", err)
			}
			if !strings.Contains(err.Error(), "k.yml") || !strings.HasPrefix(err.Error(), "phish: ") {
				t.Errorf("error %q does not name the file", err)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
			if tt.line != 0 && pe.Line != tt.line {
				t.Errorf("line %d, want %d (%v)", pe.Line, tt.line, err)
			}
			if tt.err == nil && !strings.Contains(err.Error(), "line") {
				t.Errorf("syntax error %q has no line", err)
			}
		})
	}
}

func TestParseListsAliasBomb(t *testing.T) {
	doc := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := 0; i < 9; i++ {
		name := string(rune('b' + i))
		doc += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = name
	}
	_, err := ParseLists("bomb.yml", []byte(doc))
	if err == nil {
		t.Fatal("an alias bomb parsed")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadLists(t *testing.T) {
	dir := t.TempDir()
	s1, s2 := filepath.Join(dir, "generic.yml"), filepath.Join(dir, "custom.yml")
	t1, t2 := filepath.Join(dir, "targets.yml"), filepath.Join(dir, "targets2.yml")
	writeFile(t, s1, "- conferma\n- bonifico\n")
	writeFile(t, s2, "- invoice\n")
	writeFile(t, t1, "PayPal: [paypal]\nGoogle: [gmail]\n")
	writeFile(t, t2, "PayPal: [pay pal]\n")
	l, err := LoadLists([]string{s1, s2}, []string{t1, t2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Subjects, []Rule{{"conferma"}, {"bonifico"}, {"invoice"}}) {
		t.Errorf("subjects %q", l.Subjects)
	}
	want := map[string][]Rule{"PayPal": {{"pay", "pal"}}, "Google": {{"gmail"}}}
	if !reflect.DeepEqual(l.Targets, want) {
		t.Errorf("targets %q", l.Targets)
	}

	// A map where a list is wanted and the other way round.
	if _, err := LoadLists([]string{t1}, nil); !errors.Is(err, ErrNotList) || !strings.Contains(err.Error(), "targets.yml:1") {
		t.Errorf("targets as subjects: %v", err)
	}
	if _, err := LoadLists(nil, []string{s1}); !errors.Is(err, ErrNotMap) {
		t.Errorf("subjects as targets: %v", err)
	}
	if _, err := LoadLists([]string{filepath.Join(dir, "missing.yml")}, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestKeywordsReload(t *testing.T) {
	dir := t.TempDir()
	subj, targ := filepath.Join(dir, "subjects.yml"), filepath.Join(dir, "targets.yml")
	writeFile(t, subj, "- invoice\n")
	writeFile(t, targ, "PayPal: [paypal]\n")
	k, err := LoadKeywords([]string{subj}, []string{targ})
	if err != nil {
		t.Fatal(err)
	}
	first := k.Current()
	if len(first.Subjects) != 1 || len(first.Targets) != 1 {
		t.Fatalf("lists %+v", first)
	}
	if changed, err := k.Reload(); changed || err != nil {
		t.Errorf("unchanged files: %v %v", changed, err)
	}

	// A broken file keeps the lists in use, and is not read again until
	// it changes.
	writeFile(t, targ, "PayPal: [paypal\n")
	if changed, err := k.Reload(); changed || err == nil || !strings.Contains(err.Error(), "targets.yml") {
		t.Errorf("broken file: %v %v", changed, err)
	}
	if k.Current() != first {
		t.Error("lists replaced by a broken file")
	}
	if changed, err := k.Reload(); changed || err != nil {
		t.Errorf("broken file read again: %v %v", changed, err)
	}

	// A fixed file is taken.
	writeFile(t, targ, "PayPal: [paypal]\nApple: [apple, icloud]\n")
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(targ, future, future); err != nil {
		t.Fatal(err)
	}
	if changed, err := k.Reload(); !changed || err != nil {
		t.Fatalf("fixed file: %v %v", changed, err)
	}
	if got := k.Current(); len(got.Targets) != 2 {
		t.Errorf("reloaded targets %q", got.Targets)
	}
	in := &Input{BodyText: "Your iCloud storage"}
	if p := Check(in, k.Current(), nil); !reflect.DeepEqual(p.Targets, []string{"Apple"}) {
		t.Errorf("targets after reload %v", p.Targets)
	}

	// A file that disappears is an error; the lists stay.
	if err := os.Remove(subj); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed file: %v", err)
	}
	if len(k.Current().Targets) != 2 {
		t.Error("lists lost")
	}
}

func TestKeywordsZero(t *testing.T) {
	var k Keywords
	if l := k.Current(); l == nil || len(l.Subjects) != 0 {
		t.Errorf("zero Keywords: %+v", l)
	}
	if changed, err := k.Reload(); !changed || err != nil {
		t.Errorf("zero Keywords reload: %v %v", changed, err)
	}
	if _, err := LoadKeywords(nil, []string{filepath.Join(t.TempDir(), "none.yml")}); err == nil {
		t.Error("missing file loaded")
	}
}

func FuzzParseLists(f *testing.F) {
	for _, s := range []string{
		"- conferma\n- 123456\n- [a, B]\n",
		"Google: [gmail, \"google drive\"]\nAmazon: amazon\nX:\n",
		"a: &a [x]\nb: [*a, *a]\n",
		"- {x: y}\n", "? [a]\n: b\n", "--- \n...\n", "- \"\\u00e9T\u00c9\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLists("fuzz.yml", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		check := func(r Rule) {
			if len(r) == 0 {
				t.Fatalf("empty rule from %q", data)
			}
			for _, w := range r {
				if w == "" || w != strings.ToLower(w) || strings.ContainsAny(w, " \t\n") {
					t.Fatalf("bad word %q from %q", w, data)
				}
			}
		}
		for _, r := range l.Subjects {
			check(r)
		}
		for _, rules := range l.Targets {
			for _, r := range rules {
				check(r)
			}
		}
		// The lists compile and search.
		Check(&Input{Subject: string(data), BodyText: string(data)}, l, nil)
	})
}
