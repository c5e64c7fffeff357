package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/eval"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/logreg"
	mailparse "github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/progress"
	"github.com/mailsift/mailsift/internal/tokendb"
	"github.com/mailsift/mailsift/internal/tokenize"
)

// evalInput is a source of labelled mail: paths (mailboxes, directories)
// or a list file of paths, with the part it belongs to when lists say so.
type evalInput struct {
	spam  bool
	paths []string
	side  int // 0: decided by the split rule; 1: train; 2: test
}

// evalMessage is one labelled mail, tokenized once.
type evalMessage struct {
	origin string
	path   string
	index  int
	spam   bool
	listed bool // side given by a --train-list or --test-list
	side   int  // 1 train, 2 test
	fold   int
	date   time.Time
	hash   [32]byte // the ledger hash: training runs in this order, as in the database
	tokens []string // SpamOracle's words, or the Fisher features
	idx    []uint32 // hashed features of the logistic regression
}

// evalReport is eval --json.
type evalReport struct {
	Mode         string  `json:"mode"`
	Classifier   string  `json:"classifier"`
	TrainHam     int     `json:"train_ham"`
	TrainSpam    int     `json:"train_spam"`
	TestHam      int     `json:"test_ham"`
	TestSpam     int     `json:"test_spam"`
	FPPercent    float64 `json:"fp_percent"`
	FNPercent    float64 `json:"fn_percent"`
	Unsure       float64 `json:"unsure_percent"`
	AUC          float64 `json:"auc"`
	OneMinusAUC  float64 `json:"one_minus_auc_percent"`
	FNAtFP01     float64 `json:"fn_percent_at_fp_0.1"`
	ReadPerSec   float64 `json:"read_tokenize_per_second"`
	TrainPerSec  float64 `json:"train_per_second"`
	ScorePerSec  float64 `json:"score_per_second"`
	MessagesRead int     `json:"messages_read"`
}

// cmdEval trains a fresh in-memory model on one part of labelled mail and
// scores the other, and reports what a user would see: mistakes both ways,
// unsure verdicts, ROC AUC, and speed. The user's database is not touched.
func cmdEval(e env, args []string) (int, error) {
	var (
		inputs         []evalInput
		spam, set      bool
		folds          int
		online, asJSON bool
		plot, scores   string
		root           string
		classifier     = e.cfg.Classifier
		lr             = tokendb.Regression
		fusedFlags     []func(*filter.Fused)
		passes         int
		thick          = 0.1
	)
	fusedFlag := func(name string, field func(*filter.Fused) *float64) flagSpec {
		return flagSpec{names: []string{name}, hasValue: true, set: func(v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				return usagef("%q is not a number between 0 and 1", v)
			}
			fusedFlags = append(fusedFlags, func(p *filter.Fused) { *field(p) = f })
			return nil
		}}
	}
	listFlag := func(side int) func(string) error {
		return func(v string) error {
			class, file, ok := strings.Cut(v, ":")
			if !ok || (class != "ham" && class != "spam") {
				return usagef("%q: give ham:FILE or spam:FILE", v)
			}
			inputs = append(inputs, evalInput{spam: class == "spam", paths: []string{"@" + file}, side: side})
			return nil
		}
	}
	specs := []flagSpec{
		{names: []string{"ham", "good"}, set: func(string) error { spam, set = false, true; return nil }},
		{names: []string{"spam"}, set: func(string) error { spam, set = true, true; return nil }},
		{names: []string{"train-list"}, hasValue: true, set: listFlag(1)},
		{names: []string{"test-list"}, hasValue: true, set: listFlag(2)},
		{names: []string{"root"}, hasValue: true, set: func(v string) error { root = v; return nil }},
		{names: []string{"folds", "k"}, hasValue: true, set: func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 2 || n > 100 {
				return usagef("%q: folds are 2 to 100", v)
			}
			folds = n
			return nil
		}},
		{names: []string{"classifier"}, hasValue: true, set: func(v string) error {
			if v != filter.Default && v != filter.SpamOracle && v != "fisher" && v != "logreg" {
				return usagef("%q: the classifiers are default, spamoracle, and for comparison fisher and logreg", v)
			}
			classifier = v
			return nil
		}},
		fusedFlag("robs", func(f *filter.Fused) *float64 { return &f.Fisher.S }),
		fusedFlag("robx", func(f *filter.Fused) *float64 { return &f.Fisher.X }),
		fusedFlag("min-dev", func(f *filter.Fused) *float64 { return &f.Fisher.MinDev }),
		fusedFlag("ham-cutoff", func(f *filter.Fused) *float64 { return &f.HamCutoff }),
		fusedFlag("spam-cutoff", func(f *filter.Fused) *float64 { return &f.SpamCutoff }),
		fusedFlag("weight", func(f *filter.Fused) *float64 { return &f.Weight }),
		{names: []string{"rate"}, hasValue: true, set: func(v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f > 10 {
				return usagef("%q: the learning rate is a number above 0, at most 10", v)
			}
			lr.Rate = f
			return nil
		}},
		{names: []string{"passes"}, hasValue: true, set: func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				return usagef("%q: passes are 0 to 100", v)
			}
			passes = n
			return nil
		}},
		{names: []string{"thick"}, hasValue: true, set: func(v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f >= 0.5 {
				return usagef("%q: the thick threshold is at least 0 and below 0.5", v)
			}
			thick = f
			return nil
		}},
		boolFlag(&online, "online"),
		boolFlag(&asJSON, "json"),
		{names: []string{"plot"}, hasValue: true, set: func(v string) error { plot = v; return nil }},
		{names: []string{"scores"}, hasValue: true, set: func(v string) error { scores = v; return nil }},
	}
	var noClass bool
	err := parseArgs(args, specs, func(p string) {
		if !set {
			noClass = true
			return
		}
		inputs = append(inputs, evalInput{spam: spam, paths: []string{p}})
	})
	if err != nil {
		return exitError, err
	}
	if noClass {
		return exitError, usagef("say --ham or --spam before the folders")
	}
	if len(inputs) == 0 {
		return exitError, usagef("give labelled mail: --ham DIR... --spam DIR..., or --train-list ham:FILE --test-list spam:FILE ...")
	}
	if folds > 0 && online {
		return exitError, usagef("--folds and --online exclude each other")
	}

	start := time.Now()
	msgs, failed, err := loadLabelled(e, inputs, root, folds, classifier, lr)
	if err != nil {
		return exitError, err
	}
	readSecs := time.Since(start).Seconds()

	fused := e.cfg.Fused()
	switch classifier {
	case "fisher":
		fused.Weight, fused.HamCutoff, fused.SpamCutoff = 0, 0.45, 0.99
	case "logreg":
		fused.Weight = 1
	}
	for _, o := range fusedFlags {
		o(&fused)
	}
	r := evalRun{e: e, classifier: classifier, fused: fused, lr: lr, passes: passes, thick: thick}
	switch {
	case online:
		r.online(msgs)
	case folds > 0:
		r.folds(msgs, folds)
	default:
		r.split(msgs)
	}
	if r.testHam+r.testSpam == 0 || r.trainHam == 0 || r.trainSpam == 0 {
		return exitError, fmt.Errorf("eval: need ham and spam on both sides (train %d ham, %d spam; test %d ham, %d spam)",
			r.trainHam, r.trainSpam, r.testHam, r.testSpam)
	}
	if r.err != nil {
		return exitError, r.err
	}
	m := eval.Summarize(r.samples, 0.001)
	name := classifier
	if classifier == filter.Default || classifier == filter.SpamOracle {
		named := e
		named.cfg.Classifier = classifier
		name = classifierName(named)
	}
	rep := evalReport{
		Mode: r.mode, Classifier: name,
		TrainHam: r.trainHam, TrainSpam: r.trainSpam, TestHam: m.Ham, TestSpam: m.Spam,
		FPPercent: m.FPRate(), FNPercent: m.FNRate(), Unsure: m.UnsureRate(),
		AUC: m.AUC, OneMinusAUC: 100 * (1 - m.AUC), FNAtFP01: 100 * m.FNAtFP,
		ReadPerSec: rate(len(msgs), readSecs), TrainPerSec: rate(r.trained, r.trainSecs),
		ScorePerSec: rate(len(r.samples), r.scoreSecs), MessagesRead: len(msgs),
	}
	if plot != "" {
		if err := writeFile(plot, func(w io.Writer) error {
			return eval.Plot(w, r.samples, fmt.Sprintf("mailsift eval, %s: %d ham, %d spam tested; 1-AUC %.3f%%", rep.Mode, m.Ham, m.Spam, rep.OneMinusAUC))
		}); err != nil {
			return exitError, err
		}
	}
	if scores != "" {
		if err := writeFile(scores, r.writeScores); err != nil {
			return exitError, err
		}
	}
	if asJSON {
		err = json.NewEncoder(e.stdout).Encode(rep)
	} else {
		err = printEval(e.stdout, rep, m)
	}
	if err != nil {
		return exitError, err
	}
	if failed > 0 {
		return exitPartial, nil
	}
	return exitOK, nil
}

func rate(n int, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

func printEval(w io.Writer, r evalReport, m eval.Metrics) error {
	_, err := fmt.Fprintf(w, `mailsift eval: %s, classifier %s
trained on %d ham and %d spam, tested on %d ham and %d spam
false positives  %6.2f%%  (%d good mails called spam)
false negatives  %6.2f%%  (%d spams called good)
unsure           %6.2f%%  (%d)
ROC AUC          %.5f   (1-AUC %.3f%%)
spam missed when at most 0.1%% of good mail is lost: %.2f%%
speed: read and tokenize %.0f mails/s, train %.0f mails/s, score %.0f mails/s
`, r.Mode, r.Classifier, r.TrainHam, r.TrainSpam, r.TestHam, r.TestSpam,
		r.FPPercent, m.FP, r.FNPercent, m.FN, r.Unsure, m.Unsure, r.AUC, r.OneMinusAUC, r.FNAtFP01,
		r.ReadPerSec, r.TrainPerSec, r.ScorePerSec)
	return err
}

func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	w := bufio.NewWriter(f)
	err = fill(w)
	return errors.Join(err, w.Flush(), f.Close())
}

// loadLabelled reads and tokenizes every message of the inputs on all
// cores, in input order. A list input ("@FILE") names one path per line,
// relative to root.
func loadLabelled(e env, inputs []evalInput, root string, folds int, classifier string, lr logreg.Params) ([]evalMessage, int, error) {
	tok := e.cfg.Tokenize()
	var (
		msgs   []evalMessage
		failed int
	)
	for _, in := range inputs {
		paths := in.paths
		if strings.HasPrefix(paths[0], "@") {
			var err error
			if paths, err = readList(strings.TrimPrefix(paths[0], "@"), root); err != nil {
				return nil, 0, err
			}
		}
		bar := progress.New(e.stderr, "eval: reading", inputSize(paths))
		err := forEach(paths, e.stdin, bar, func(m mailbox.Message) (evalMessage, error) {
			parsed := mailparse.Parse(m.Raw)
			var toks []string
			var idx []uint32
			if classifier == filter.SpamOracle {
				toks, _ = tok.Message(parsed)
			} else {
				toks = tokenize.Distinct(tok.Features(parsed))
				idx = lr.Features(toks, m.Raw)
			}
			em := evalMessage{origin: m.Origin, path: m.Path, index: m.Index, spam: in.spam,
				hash:   filter.Hash(m.Raw, e.cfg.SpamHeader, e.cfg.AttachmentsHeader),
				listed: in.side != 0, side: in.side, tokens: compactTokens(toks), idx: idx}
			em.place(asStored(m), folds)
			if d, err := mail.ParseDate(parsed.Header().Get("Date")); err == nil {
				em.date = d
			}
			return em, nil
		}, func(m mailbox.Message, em evalMessage, err error) error {
			if err != nil {
				failed++
				fmt.Fprintf(e.stderr, "mailsift: %v\n", err)
				return nil
			}
			msgs = append(msgs, em)
			return nil
		})
		bar.Done()
		if err != nil {
			return nil, 0, err
		}
	}
	// A file that holds one message is split by the hash of the file, as
	// the corpus scripts do; only mboxes of several messages need the
	// hash of each message.
	perFile := map[string]int{}
	for _, m := range msgs {
		perFile[m.path]++
	}
	for i := range msgs {
		if m := &msgs[i]; m.index == 1 && perFile[m.path] == 1 {
			raw, err := os.ReadFile(m.path)
			if err != nil {
				return nil, 0, fmt.Errorf("eval: %w", err)
			}
			m.place(raw, folds)
			m.origin = m.path
		}
	}
	return msgs, failed, nil
}

// place decides, for a message not assigned by a list, whether it is
// trained on or tested, and its fold, from its stored bytes.
func (m *evalMessage) place(stored []byte, folds int) {
	if !m.listed {
		m.side = 1
		if eval.IsTest(stored) {
			m.side = 2
		}
	}
	if folds > 0 {
		m.fold = eval.Fold(stored, folds)
	}
}

// asStored gives back a message as its file stores it, envelope line
// included, so that the split of a folder of one-message mbox files (as the
// SpamAssassin corpus comes) is the split of its files.
func asStored(m mailbox.Message) []byte {
	if m.Envelope == "" {
		return m.Raw
	}
	eol := "\n"
	if i := bytes.IndexByte(m.Raw, '\n'); i > 0 && m.Raw[i-1] == '\r' {
		eol = "\r\n"
	}
	return append([]byte("From "+m.Envelope+eol), m.Raw...)
}

// compactTokens copies a message's tokens into one string, so that the
// decoded text they point into can be freed while the run holds thousands
// of messages.
func compactTokens(toks []string) []string {
	n := 0
	for _, t := range toks {
		n += len(t)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, t := range toks {
		sb.WriteString(t)
	}
	all, off := sb.String(), 0
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = all[off : off+len(t)]
		off += len(t)
	}
	return out
}

func readList(file, root string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	var paths []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if root != "" && !filepath.IsAbs(line) {
			line = filepath.Join(root, line)
		}
		paths = append(paths, line)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("eval: %s names no mail", file)
	}
	return paths, nil
}

// evalRun trains models and collects the scores of the test messages.
type evalRun struct {
	e                    env
	classifier           string
	fused                filter.Fused
	lr                   logreg.Params
	passes               int     // train-until-no-error passes after the first
	thick                float64 // their threshold
	mode                 string
	samples              []eval.Sample
	origins              []string
	trainHam, trainSpam  int
	testHam, testSpam    int
	trained              int
	trainSecs, scoreSecs float64
	err                  error
}

func (r *evalRun) train(m evalModel, msg evalMessage) {
	t := time.Now()
	m.train(msg)
	r.trainSecs += time.Since(t).Seconds()
	r.trained++
}

// evalModel is a classifier being evaluated over an in-memory store: the
// filter that mark and test use, on what the run taught it.
type evalModel struct {
	store  *eval.Model
	filter *filter.Filter
}

func (m evalModel) train(msg evalMessage) {
	if m.filter.Classifier == filter.SpamOracle {
		m.store.Train(msg.tokens, msg.spam)
	} else {
		m.store.TrainFeatures(msg.hash, msg.tokens, msg.idx, msg.spam)
	}
}

func (m evalModel) score(msg evalMessage) (bayes.Result, error) {
	if m.filter.Classifier == filter.SpamOracle {
		return m.filter.Score(msg.tokens)
	}
	return m.filter.ScoreFeatures(msg.tokens, msg.idx)
}

// newModel returns an untrained model of the run's classifier.
func (r *evalRun) newModel() evalModel {
	store := eval.NewModel(r.lr)
	f := newFilter(r.e, store)
	f.Fused = r.fused
	if r.classifier == filter.SpamOracle {
		f.Classifier = filter.SpamOracle
	}
	return evalModel{store: store, filter: f}
}

// reinforce runs the passes of train-until-no-error over the training
// messages: each pass teaches the regression again every message that it
// scores on the wrong side of the thick threshold, until none is or the
// passes run out.
func (r *evalRun) reinforce(m evalModel, msgs []evalMessage, inTrain func(evalMessage) bool) {
	t := time.Now()
	defer func() { r.trainSecs += time.Since(t).Seconds() }()
	m.store.Fit()
	if r.classifier == filter.SpamOracle {
		return
	}
	for range r.passes {
		errs := 0
		for _, msg := range shuffled(msgs) {
			if !inTrain(msg) {
				continue
			}
			res, err := m.score(msg)
			if err != nil {
				r.err = err
				return
			}
			if wrongSide(res.Score, msg.spam, r.thick) {
				m.store.Reinforce(msg.hash)
				errs++
			}
		}
		m.store.Fit()
		if errs == 0 {
			return
		}
	}
}

// wrongSide tells whether score is not clearly on the side of its class:
// within thick of 0.5, or beyond it.
func wrongSide(score float64, spam bool, thick float64) bool {
	if spam {
		return score < 0.5+thick
	}
	return score > 0.5-thick
}

func (r *evalRun) test(f evalModel, msg evalMessage) {
	if r.err != nil {
		return
	}
	t := time.Now()
	res, err := f.score(msg)
	r.scoreSecs += time.Since(t).Seconds()
	if err != nil {
		r.err = err
		return
	}
	v := 0
	switch res.Verdict {
	case bayes.Spam:
		v = 1
	case bayes.Ham:
		v = -1
	}
	r.samples = append(r.samples, eval.Sample{Spam: msg.spam, Score: res.Score, Verdict: v})
	r.origins = append(r.origins, msg.origin)
	if msg.spam {
		r.testSpam++
	} else {
		r.testHam++
	}
}

func (r *evalRun) count(msg evalMessage) {
	if msg.spam {
		r.trainSpam++
	} else {
		r.trainHam++
	}
}

// split trains on the train side and tests the test side.
func (r *evalRun) split(msgs []evalMessage) {
	r.mode = "train/test split"
	m := r.newModel()
	for _, msg := range shuffled(msgs) {
		if msg.side == 1 {
			r.train(m, msg)
			r.count(msg)
		}
	}
	r.reinforce(m, msgs, func(msg evalMessage) bool { return msg.side == 1 })
	for _, msg := range msgs {
		if msg.side == 2 {
			r.test(m, msg)
		}
	}
}

// folds tests every message once, each fold scored by a model trained on
// the others.
func (r *evalRun) folds(msgs []evalMessage, k int) {
	r.mode = fmt.Sprintf("%d-fold cross-validation", k)
	for fold := range k {
		m := r.newModel()
		for _, msg := range shuffled(msgs) {
			if msg.fold != fold {
				r.train(m, msg)
			}
		}
		r.reinforce(m, msgs, func(msg evalMessage) bool { return msg.fold != fold })
		for _, msg := range msgs {
			if msg.fold == fold {
				r.test(m, msg)
			}
		}
	}
	for _, msg := range msgs {
		r.count(msg)
	}
}

// online replays the mail in date order (input order without a date),
// scoring each message before training on it, as a user's filter learns.
func (r *evalRun) online(msgs []evalMessage) {
	r.mode = "online, in date order"
	sorted := append([]evalMessage(nil), msgs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].date.Before(sorted[j].date) })
	m := r.newModel()
	m.store.Online = true
	for _, msg := range sorted {
		r.test(m, msg)
		r.train(m, msg)
		r.count(msg)
	}
}

// shuffled returns the messages in the order of their ledger hashes, the
// order in which the database fits its regression; it mixes ham and spam
// however they were given.
func shuffled(msgs []evalMessage) []evalMessage {
	out := append([]evalMessage(nil), msgs...)
	sort.SliceStable(out, func(i, j int) bool { return bytes.Compare(out[i].hash[:], out[j].hash[:]) < 0 })
	return out
}

// writeScores writes "<origin>\t<score>\t<spam|ham|unsure>" per test
// message, the format ../shared/bench/evaluate.py reads.
func (r *evalRun) writeScores(w io.Writer) error {
	names := map[int]string{1: "spam", -1: "ham", 0: "unsure"}
	for i, s := range r.samples {
		score := strconv.FormatFloat(s.Score, 'g', -1, 64)
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s\n", r.origins[i], score, names[s.Verdict]); err != nil {
			return err
		}
	}
	return nil
}
