package tokenize

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/mail"
)

// arenaMail has a subject of n capitalised words and a body of n words
// with accents: every feature of it that is not a substring of the text
// (a "subj:" word, a folded word) comes out of the arena, over several of
// its blocks.
func arenaMail(n int) []byte {
	var subj, body strings.Builder
	for i := range n {
		fmt.Fprintf(&subj, " Word%c%c%c", 'a'+i%26, 'a'+i/26%26, 'a'+i/676%26)
		fmt.Fprintf(&body, " café%c%c%c", 'a'+i%26, 'a'+i/26%26, 'a'+i/676%26)
	}
	return []byte("Subject:" + subj.String() + "\nContent-Type: text/plain; charset=utf-8\n\n" + body.String() + "\n")
}

// The features that the arena makes are the words as written: the blocks
// that later tokens fill leave the earlier ones alone.
func TestArenaTokens(t *testing.T) {
	const n = 2000 // about 40 KB of tokens: ten blocks
	feats := DefaultOptions().Features(mail.Parse(arenaMail(n)))
	var subj, body []string
	for _, f := range feats {
		switch {
		case strings.HasPrefix(f, "subj:"):
			subj = append(subj, f)
		case strings.HasPrefix(f, "cafe"):
			body = append(body, f)
		}
	}
	if len(subj) != n || len(body) != n {
		t.Fatalf("%d subject and %d body words, want %d of each", len(subj), len(body), n)
	}
	for i := range n {
		suffix := fmt.Sprintf("%c%c%c", 'a'+i%26, 'a'+i/26%26, 'a'+i/676%26)
		if want := "subj:word" + suffix; subj[i] != want {
			t.Fatalf("subject word %d is %q, want %q", i, subj[i], want)
		}
		if want := "cafe" + suffix; body[i] != want {
			t.Fatalf("body word %d is %q, want %q", i, body[i], want)
		}
	}
}

// A mail's made-up tokens cost an allocation per block of the arena, not
// one each.
func TestArenaAllocations(t *testing.T) {
	m := mail.Parse(arenaMail(300)) // 600 made-up tokens in about 6 KB
	opts := DefaultOptions()
	feats := make([]string, 0, 4096)
	allocs := testing.AllocsPerRun(20, func() {
		feats = opts.AppendFeatures(feats[:0], m)
	})
	if allocs > 100 {
		t.Errorf("%.0f allocations for 600 made-up tokens", allocs)
	}
}
