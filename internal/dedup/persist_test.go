package dedup

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var names = []string{"a", "b", "c", "d", "e", "f"}

func filled(p Policy, capacity int, keys ...string) *Set {
	s := NewSet(capacity, p)
	for _, k := range keys {
		s.SeenOrAdd(k)
	}
	return s
}

func TestSaveLoadKeepsOrder(t *testing.T) {
	for _, p := range []Policy{FIFO, LRU} {
		t.Run(p.String(), func(t *testing.T) {
			s := filled(p, 4, "a", "b", "c", "d", "a")
			var buf bytes.Buffer
			if err := s.Save(&buf); err != nil {
				t.Fatal(err)
			}
			r := NewSet(4, p)
			if err := r.Load(bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatal(err)
			}
			want := order(t, s, names...)
			if got := order(t, r, names...); !slices.Equal(got, want) {
				t.Fatalf("loaded order %v, want %v", got, want)
			}
			// The loaded set goes on evicting as the saved one would.
			for _, k := range []string{"b", "e", "f"} {
				if got, want := r.SeenOrAdd(k), s.SeenOrAdd(k); got != want {
					t.Errorf("SeenOrAdd(%q) = %v after load, %v before", k, got, want)
				}
			}
			if got, want := order(t, r, names...), order(t, s, names...); !slices.Equal(got, want) {
				t.Errorf("after more keys: loaded %v, original %v", got, want)
			}
		})
	}
}

func TestLoadIntoSmallerSetKeepsNewest(t *testing.T) {
	s := filled(FIFO, 10, "a", "b", "c", "d", "e")
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	r := filled(LRU, 3, "f")
	if err := r.Load(&buf); err != nil {
		t.Fatal(err)
	}
	if got := order(t, r, names...); !slices.Equal(got, []string{"c", "d", "e"}) {
		t.Errorf("order = %v, want the newest three", got)
	}
	if r.Policy() != LRU {
		t.Error("Load changed the policy")
	}
}

func TestSaveEmpty(t *testing.T) {
	var buf bytes.Buffer
	var nilSet *Set
	if err := nilSet.Save(&buf); err != nil {
		t.Fatal(err)
	}
	r := filled(FIFO, 3, "a")
	if err := r.Load(&buf); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Errorf("Len = %d after loading an empty set", r.Len())
	}
}

func TestLoadCorrupt(t *testing.T) {
	var good bytes.Buffer
	if err := filled(LRU, 5, "a", "b", "c").Save(&good); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	flip := func(i int) []byte { b := bytes.Clone(g); b[i] ^= 0x40; return b }
	withDup := func() []byte {
		// Two copies of one digest, with a valid checksum.
		d := digestOf("a")
		var buf bytes.Buffer
		if err := write(&buf, FIFO, []digest{d, d}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"not ours", []byte("hello world, this is text"), "not a filter file"},
		{"future version", append([]byte(magic), 9, 0, 0, 0, 0, 0, 0), "unknown version 9"},
		{"bad policy", flip(len(magic) + 1), "unknown policy"},
		{"cut in the header", g[:4], "truncated"},
		{"cut in the keys", g[:len(g)-10], "truncated"},
		{"cut in the checksum", g[:len(g)-2], "truncated"},
		{"flipped key bit", flip(len(g) - 8), "checksum mismatch"},
		{"flipped checksum", flip(len(g) - 1), "checksum mismatch"},
		{"trailing data", append(bytes.Clone(g), 0), "data after the checksum"},
		{"repeated key", withDup(), "repeated key"},
		{"huge count", append([]byte(magic), 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f), "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := filled(FIFO, 5, "x")
			err := s.Load(bytes.NewReader(tt.data))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "dedup: load: ") {
				t.Errorf("err = %q, want it to say %q", err, tt.want)
			}
			if s.Len() != 1 || !s.Contains("x") {
				t.Error("a failed Load changed the set")
			}
		})
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "mails.seen")

	s := NewSet(10, LRU)
	if err := s.LoadFile(path); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	s.SeenOrAdd("a")
	s.SeenOrAdd("b")
	if err := s.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	// Overwrite: the second save replaces the first, and leaves no
	// temporary file behind.
	s.SeenOrAdd("c")
	if err := s.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "mails.seen" {
		t.Errorf("directory holds %v, want only mails.seen", entries)
	}
	r := NewSet(10, LRU)
	if err := r.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if got := order(t, r, names...); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("order = %v", got)
	}

	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = r.LoadFile(path)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Errorf("corrupt file: err = %v, want ErrCorrupt naming the file", err)
	}
	if r.Len() != 3 {
		t.Error("a failed LoadFile changed the set")
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := r.LoadFile(path); err != nil || r.Len() != 0 {
		t.Errorf("missing file: err %v, Len %d; want an empty set", err, r.Len())
	}

	if err := r.LoadFile(dir); err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("loading a directory: err = %v, want a plain read error", err)
	}
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.SaveFile(filepath.Join(blocker, "x.seen")); err == nil || !strings.HasPrefix(err.Error(), "dedup: save") {
		t.Errorf("saving under a file: err = %v", err)
	}
	var nilSet *Set
	if nilSet.LoadFile(path) == nil || nilSet.Load(bytes.NewReader(nil)) == nil {
		t.Error("loading into a nil set did not fail")
	}
}
