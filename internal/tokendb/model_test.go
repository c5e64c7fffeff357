package tokendb

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/tokenize"
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
	kout := make([]bayes.Counts, 2)
	kev, err := snap.LookupModelKeys([]uint64{tokenize.Key("meeting"), tokenize.Key("cheap")}, kout, spam.Hashed)
	if err != nil || kev != ev || kout[0] != out[0] || kout[1] != out[1] {
		t.Errorf("snapshot by keys %v %v %v, database %v %v", kev, kout, err, ev, out)
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

// A batch built with Add, counted as the docs arrive, trains exactly as
// the same docs given in Ham and Spam: new messages, messages the ledger
// knows as the same class or the other, one given twice, one given as
// both, one without features, and ones the caller wrongly believes known
// or new.
func TestBatchAdd(t *testing.T) {
	known := featureDoc("known ham meeting agenda")
	turned := featureDoc("turned cheap offer meeting")
	twice := featureDoc("twice winner prize prize")
	both := featureDoc("both agenda prize notes")
	plain := NewDoc(sha256.Sum256([]byte("plain")), []string{"plain", "agenda", "agenda"})
	type add struct {
		c     Class
		d     Doc
		known bool // what the caller believes
	}
	adds := []add{
		{Ham, featureDoc("fresh notes minutes project"), false}, {Ham, known, true}, {Ham, turned, false},
		{Spam, twice, false}, {Spam, twice, false}, {Ham, both, false}, {Spam, both, false}, {Spam, plain, false},
		{Spam, featureDoc("fresh cheap pills"), true},        // believed known, but new
		{Ham, featureDoc("known ham meeting agenda"), false}, // believed new, but known
	}
	probe := []string{"known", "turned", "twice", "both", "prize", "agenda", "meeting", "fresh"}
	state := func(db *DB) string {
		out := make([]bayes.Counts, len(probe))
		ev, err := db.LookupModel(probe, out, featureDoc(strings.Join(probe, " ")).Hashed)
		if err != nil {
			t.Fatal(err)
		}
		ledger, err := db.Ledger()
		if err != nil {
			t.Fatal(err)
		}
		st, err := db.Stats()
		if err != nil {
			t.Fatal(err)
		}
		st.FileSize, st.Generation = 0, 0
		return fmt.Sprintf("%s%v %+v %v %+v", dump(t, db), out, ev, ledger, st)
	}
	train := func(batch Batch) (string, Result) {
		db := newDB(t)
		if _, err := db.Apply(Batch{Ham: []Doc{known}, Spam: []Doc{turned}}); err != nil {
			t.Fatal(err)
		}
		res, err := db.Apply(batch)
		if err != nil {
			t.Fatal(err)
		}
		return state(db), res
	}

	var counted, plainBatch Batch
	for _, a := range adds {
		counted.Add(a.c, a.d, a.known)
		if a.c == Ham {
			plainBatch.Ham = append(plainBatch.Ham, a.d)
		} else {
			plainBatch.Spam = append(plainBatch.Spam, a.d)
		}
	}
	got, gotRes := train(counted)
	want, wantRes := train(plainBatch)
	if got != want || gotRes != wantRes {
		t.Errorf("counted by Add: %+v\n%s\nwant %+v\n%s", gotRes, got, wantRes, want)
	}
	if wantRes.Learned != 5 || wantRes.Moved != 2 || wantRes.Skipped != 3 {
		t.Errorf("result %+v, want 5 learned, 2 moved, 3 skipped", wantRes)
	}

	// A second Apply of the same batch learns nothing new and leaves the
	// database as it was (the message given as both classes moves to ham and
	// back), although the first one changed the batch's counts.
	db := newDB(t)
	if _, err := db.Apply(counted); err != nil {
		t.Fatal(err)
	}
	before := state(db)
	if res, err := db.Apply(counted); err != nil || res.Learned != 0 || res.Skipped != 8 {
		t.Fatalf("second apply: %+v, %v", res, err)
	}
	if after := state(db); after != before {
		t.Errorf("second apply changed the database:\n%s\nwas\n%s", after, before)
	}

	// Docs appended besides Add are counted too.
	extra := counted
	extra.Spam = append(slices.Clone(extra.Spam), featureDoc("extra cheap prize"))
	extra.counted = nil
	var mixed Batch
	for _, a := range adds {
		mixed.Add(a.c, a.d, a.known)
	}
	mixed.Spam = append(mixed.Spam, featureDoc("extra cheap prize"))
	got, _ = train(mixed)
	want, _ = train(extra)
	if got != want {
		t.Errorf("with a doc appended:\n%s\nwant\n%s", got, want)
	}
}

func TestLedger(t *testing.T) {
	db := newDB(t)
	ham, spam := featureDoc("ledger ham"), doc("ledger spam", "cheap")
	if _, err := db.Apply(Batch{Ham: []Doc{ham}, Spam: []Doc{spam}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[ham.Hash] != Ham || got[spam.Hash] != Spam {
		t.Errorf("ledger %v", got)
	}
}
