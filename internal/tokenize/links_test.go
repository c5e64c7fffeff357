package tokenize

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// linkRe is what findLinks stands for.
var linkRe = regexp.MustCompile(`(?i)\b(?:https?|ftp)://[^\s"'<>()]+`)

var linkSeeds = []string{
	"see http://a.example/x and HTTPS://B.example/y?z=1, ftp://f.example",
	"xhttp://no.example 1http://no.example _http://no.example é http://yes.example",
	`<a href="http://q.example/p">(http://paren.example)</a>'https://s.example'`,
	"http:// alone, https://\there, ftps://no.example, http://a://b c",
	"://start http://a.example\nhttp://b.example\rhttp://c.example\fend",
	"",
}

func TestFindLinksIsTheRegexp(t *testing.T) {
	for _, s := range linkSeeds {
		if got, want := findLinks(s), linkRe.FindAllString(s, -1); !slices.Equal(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", s, got, want)
		}
	}
}

func FuzzFindLinks(f *testing.F) {
	for _, s := range linkSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// (?i) also folds the long s and the Kelvin sign to ASCII
		// letters; mail does not spell schemes with them.
		if strings.ContainsAny(s, "\u017f\u212a") {
			return
		}
		if got, want := findLinks(s), linkRe.FindAllString(s, -1); !slices.Equal(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", s, got, want)
		}
	})
}
