package tokendb

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/bayes"
)

// featureDoc is a message for the default classifier: its words double as
// features, and its hashed indices come from the regression's hashing.
func featureDoc(text string) Doc {
	words := strings.Fields(text)
	d := NewDoc(sha256.Sum256([]byte(text)), words)
	return d.WithFeatures(words, Regression.Features(words, []byte(text)))
}

func TestModelLearnsAndUnlearns(t *testing.T) {
	db := newDB(t)
	ham := featureDoc("meeting agenda tomorrow meeting")
	spam := featureDoc("cheap pills cheap offer")
	if _, err := db.Apply(Batch{Ham: []Doc{ham}, Spam: []Doc{spam}}); err != nil {
		t.Fatal(err)
	}
	out := make([]bayes.Counts, 2)
	ev, err := db.LookupModel([]string{"meeting", "cheap"}, out, spam.Hashed)
	if err != nil {
		t.Fatal(err)
	}
	// Features count once per message, whatever their repeats.
	if want := []bayes.Counts{{Good: 1}, {Spam: 1}}; out[0] != want[0] || out[1] != want[1] {
		t.Errorf("feature counts %v, want %v", out, want)
	}
	if ev.Totals != (bayes.Totals{Good: 1, Spam: 1}) {
		t.Errorf("feature totals %v", ev.Totals)
	}
	if ev.Margin <= 0 {
		t.Errorf("spam margin %v after learning it as spam, want > 0", ev.Margin)
	}
	hamEv, err := db.LookupModel(nil, nil, ham.Hashed)
	if err != nil {
		t.Fatal(err)
	}
	if hamEv.Margin >= 0 {
		t.Errorf("ham margin %v, want < 0", hamEv.Margin)
	}

	// The snapshot reads the same.
	snap, err := db.SnapshotModel()
	if err != nil {
		t.Fatal(err)
	}
	sout := make([]bayes.Counts, 2)
	sev, err := snap.LookupModel([]string{"meeting", "cheap"}, sout, spam.Hashed)
	if err != nil {
		t.Fatal(err)
	}
	if sev != ev || sout[0] != out[0] || sout[1] != out[1] {
		t.Errorf("snapshot %v %v, database %v %v", sev, sout, ev, out)
	}
	// Each snapshot holds one classifier's part only.
	if tot, err := snap.Lookup([]string{"cheap"}, sout); err != nil || tot != (bayes.Totals{}) || sout[0] != (bayes.Counts{}) {
		t.Errorf("model snapshot holds words: %v %v %v", tot, sout[0], err)
	}
	words, err := db.Snapshot(0)
	if err != nil {
		t.Fatal(err)
	}
	if wev, err := words.LookupModel([]string{"cheap"}, sout, spam.Hashed); err != nil || wev != (Evidence{}) {
		t.Errorf("word snapshot holds the model: %v %v", wev, err)
	}

	// Reinforcing leaves counts alone and pushes the margin further.
	res, err := db.Apply(Batch{Spam: []Doc{spam}, Reinforce: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reinforced != 1 || res.Learned != 0 {
		t.Errorf("reinforce result %+v", res)
	}
	ev2, err := db.LookupModel([]string{"cheap"}, out, spam.Hashed)
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != (bayes.Counts{Spam: 1}) || ev2.Totals != ev.Totals {
		t.Errorf("reinforce changed counts: %v %v", out[0], ev2.Totals)
	}
	if ev2.Margin <= ev.Margin {
		t.Errorf("margin %v after reinforcing, was %v", ev2.Margin, ev.Margin)
	}

	// Untraining removes the counts exactly.
	if _, err := db.Untrain([]Doc{spam, ham}); err != nil {
		t.Fatal(err)
	}
	ev3, err := db.LookupModel([]string{"meeting", "cheap"}, out, spam.Hashed)
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != (bayes.Counts{}) || out[1] != (bayes.Counts{}) || ev3.Totals != (bayes.Totals{}) {
		t.Errorf("after untrain: %v %v", out, ev3.Totals)
	}
	if ev3.Margin != 0 {
		t.Errorf("margin %v after untraining everything, want 0", ev3.Margin)
	}
}

// The regression is fitted from the stored vectors, so the order of
// training runs does not matter: ham then spam in two runs, or both in one.
func TestModelIndependentOfRunOrder(t *testing.T) {
	var ham, spam []Doc
	for i := range 20 {
		ham = append(ham, featureDoc(fmt.Sprintf("meeting %d agenda notes minutes project", i)))
		spam = append(spam, featureDoc(fmt.Sprintf("cheap %d pills offer winner prize", i)))
	}
	probe := featureDoc("meeting cheap agenda offer")
	margin := func(apply func(*DB)) float64 {
		db := newDB(t)
		apply(db)
		ev, err := db.LookupModel(nil, nil, probe.Hashed)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Margin
	}
	together := margin(func(db *DB) {
		if _, err := db.Apply(Batch{Ham: ham, Spam: spam}); err != nil {
			t.Fatal(err)
		}
	})
	apart := margin(func(db *DB) {
		if _, err := db.Train(Spam, spam); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Train(Ham, ham); err != nil {
			t.Fatal(err)
		}
	})
	if together != apart || together == 0 {
		t.Errorf("margin %v trained together, %v trained apart", together, apart)
	}
}

func TestDocsWithoutFeaturesLeaveModel(t *testing.T) {
	db := newDB(t)
	d := NewDoc(sha256.Sum256([]byte("x")), []string{"alpha"})
	if _, err := db.Train(Spam, []Doc{d}); err != nil {
		t.Fatal(err)
	}
	ev, err := db.LookupModel(nil, nil, []uint32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if ev != (Evidence{}) {
		t.Errorf("evidence %+v from a SpamOracle-only doc", ev)
	}
}

func TestRestoreClearsModel(t *testing.T) {
	db := newDB(t)
	spam := featureDoc("cheap pills cheap offer")
	if _, err := db.Train(Spam, []Doc{spam}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Restore(bytes.NewBufferString("SPAMORACLE/1 3 4\nword 1 2\n")); err != nil {
		t.Fatal(err)
	}
	out := make([]bayes.Counts, 1)
	ev, err := db.LookupModel([]string{"cheap"}, out, spam.Hashed)
	if err != nil {
		t.Fatal(err)
	}
	if ev != (Evidence{}) || out[0] != (bayes.Counts{}) {
		t.Errorf("after restore: %+v %v", ev, out)
	}
}

func TestWeightIndexOutOfRange(t *testing.T) {
	db := newDB(t)
	if _, err := db.Train(Spam, []Doc{featureDoc("a b c d")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LookupModel(nil, nil, []uint32{1 << 30}); err == nil {
		t.Error("no error for an index beyond the table")
	}
}
