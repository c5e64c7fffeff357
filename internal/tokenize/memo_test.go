package tokenize

import (
	"regexp"
	"strconv"
	"testing"
)

// The memo gives the regexp's answers, shares them between regexps of the
// same pattern, and stops growing at its bound.
func TestMatchMemo(t *testing.T) {
	var m matchMemo
	re := regexp.MustCompile(`^(?i:a/href|img/src)`)
	same := regexp.MustCompile(re.String())
	other := regexp.MustCompile(`^x`)
	for i := range 2 * maxMemo {
		s := "img/src" + strconv.Itoa(i%3)
		if i%2 == 1 {
			s = "td/width" + strconv.Itoa(i)
		}
		m.add(re, s, re.MatchString(s))
	}
	if m.size != maxMemo {
		t.Errorf("memo holds %d answers, want the bound %d", m.size, maxMemo)
	}
	known := m.known(same)
	if match, ok := known["img/src1"]; !ok || !match {
		t.Errorf("img/src1: %v %v, want a remembered match", match, ok)
	}
	if match, ok := known["td/width1"]; !ok || match {
		t.Errorf("td/width1: %v %v, want a remembered mismatch", match, ok)
	}
	if _, ok := known["td/width"+strconv.Itoa(2*maxMemo-1)]; ok {
		t.Error("an answer past the bound was kept")
	}
	if m.known(other) != nil {
		t.Error("another pattern shares the answers")
	}
}
