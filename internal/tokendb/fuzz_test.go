package tokendb

import (
	"bytes"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzRestore feeds arbitrary text to Restore. It must not panic; it must
// succeed exactly when a simple model of the format accepts the input; on
// success Backup must print the model's sorted dump, and on failure the
// database must be unchanged.
func FuzzRestore(f *testing.F) {
	for _, seed := range []string{
		"SPAMORACLE/1 4 4\nthe 24 1\nclick 0 7\n$$$ 0 1\n",
		"SPAMORACLE/1 1 2\r\nfoo 1 2\r\nbar 0 0\r\nfoo 3 4",
		"SPAMORACLE/1 1 2\nfoo 1\n",
		"SPAMORACLE/1 1 2\nfoo 1 x\n",
		"SPAMORACLE/1 4294967295 0\nw 4294967295 4294967295\n",
		"SPAMORACLE/1 1 2\n\n",
		"BAD 1 2\n",
		"",
		"SPAMORACLE/1 0 0\né\xff 1 2\n",
	} {
		f.Add([]byte(seed))
	}
	db, err := Open(filepath.Join(f.TempDir(), "fuzz.db"), Options{Create: true})
	if err != nil {
		f.Fatal(err)
	}
	db.bolt.NoSync = true // speed; crash safety is tested elsewhere
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, in []byte) {
		before := dump(t, db)
		n, err := db.Restore(bytes.NewReader(in))
		want, wantN, ok := modelRestore(string(in))
		if ok != (err == nil) {
			t.Fatalf("Restore(%q): %v; model accepts: %v", in, err, ok)
		}
		got := dump(t, db)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokendb: restore: ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: not one prefixed line", err)
			}
			if got != before {
				t.Fatalf("failed Restore(%q) changed the database", in)
			}
			return
		}
		if got != want || n != wantN {
			t.Fatalf("Restore(%q) = %d words, backup\n%q\nwant %d words\n%q", in, n, got, wantN, want)
		}
	})
}

// modelRestore is an independent, simple reading of the format: it returns
// the expected backup and word count, and whether the input is valid.
func modelRestore(in string) (string, int, bool) {
	if in == "" {
		return "", 0, false
	}
	lines := strings.Split(in, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1] // the final newline ends the last line
	}
	for i, l := range lines {
		if len(l)+1 > maxLine { // the reader's buffer holds the line and its newline
			return "", 0, false
		}
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	num := func(s string) (uint64, bool) {
		if s == "" || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		v, err := strconv.ParseUint(s, 10, 32)
		return v, err == nil
	}
	f := strings.SplitN(lines[0], " ", 3)
	if len(f) != 3 || f[0] != "SPAMORACLE/1" {
		return "", 0, false
	}
	g, ok1 := num(f[1])
	s, ok2 := num(f[2])
	if !ok1 || !ok2 {
		return "", 0, false
	}
	words := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.SplitN(l, " ", 3)
		if len(f) != 3 || f[0] == "" || len(f[0]) > maxWordLen {
			return "", 0, false
		}
		wg, ok1 := num(f[1])
		ws, ok2 := num(f[2])
		if !ok1 || !ok2 {
			return "", 0, false
		}
		if wg == 0 && ws == 0 {
			delete(words, f[0])
		} else {
			words[f[0]] = strconv.FormatUint(wg, 10) + " " + strconv.FormatUint(ws, 10)
		}
	}
	keys := make([]string, 0, len(words))
	for k := range words {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("SPAMORACLE/1 " + strconv.FormatUint(g, 10) + " " + strconv.FormatUint(s, 10) + "\n")
	for _, k := range keys {
		b.WriteString(k + " " + words[k] + "\n")
	}
	return b.String(), len(keys), true
}
