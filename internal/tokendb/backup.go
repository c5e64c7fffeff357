package tokendb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/mailsift/mailsift/internal/bayes"
	bolt "go.etcd.io/bbolt"
)

// backupMagic starts the first line of SpamOracle's text format.
const backupMagic = "SPAMORACLE/1 "

// maxLine is the longest backup line Restore reads: the longest word, two
// 10-digit counts, two spaces, CR LF; rounded up.
const maxLine = maxWordLen + 64

// maxShownLine is how much of an ill-formed line an error message quotes.
const maxShownLine = 200

// Backup writes SpamOracle's text format from one read transaction: the line
// "SPAMORACLE/1 <good msgs> <spam msgs>", then one "word good spam" line per
// word in byte order, so the output is deterministic. The ledger is not
// part of the format.
func (db *DB) Backup(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	g := &guard{}
	err := db.viewGuarded(g, func(tx *bolt.Tx) error {
		t, err := readTotals(tx)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketWords)
		if b == nil {
			return fmt.Errorf("%w: no words bucket", ErrCorrupt)
		}
		g.inCaller = true
		_, err = fmt.Fprintf(bw, "%s%d %d\n", backupMagic, t.Good, t.Spam)
		g.inCaller = false
		if err != nil {
			return err
		}
		var line []byte
		cur := b.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			c, err := decodeCounts(v)
			if err != nil {
				return fmt.Errorf("word %q: %w", k, err)
			}
			line = append(line[:0], k...)
			line = append(line, ' ')
			line = strconv.AppendUint(line, uint64(c.Good), 10)
			line = append(line, ' ')
			line = strconv.AppendUint(line, uint64(c.Spam), 10)
			line = append(line, '\n')
			g.inCaller = true
			_, err = bw.Write(line)
			g.inCaller = false
			if err != nil {
				return err
			}
		}
		g.inCaller = true
		err = bw.Flush()
		g.inCaller = false
		return err
	})
	if err != nil {
		return fmt.Errorf("tokendb: backup: %w", err)
	}
	return nil
}

var (
	errWrongVersion     = errors.New("wrong version")
	errFirstLineMissing = errors.New("first line missing")
	errLineTooLong      = errors.New("line too long")
)

// Restore reads SpamOracle's text format and replaces all words and totals,
// and clears the ledger and the default classifier (the format holds only
// SpamOracle's words), in one write transaction; on error nothing changes.
// It returns the number of words stored. Lines are split at their first two
// spaces into a word and two decimal counts that fit 32 bits; a trailing CR
// is tolerated (SpamOracle rejects it). Unlike SpamOracle, which stores
// every line, words whose counts are both zero are not stored, and when a
// word appears twice the last line wins. The generation advances, so caches
// notice.
//
// Errors, wrapped with "tokendb: restore: ": "first line missing" for empty
// input, "wrong version" for a first line other than
// "SPAMORACLE/1 <int> <int>", and "ill-formed line N: `<line>'" for a bad
// line (quoted up to 200 bytes).
func (db *DB) Restore(r io.Reader) (words int, err error) {
	g := &guard{}
	err = db.updateGuarded(g, func(tx *bolt.Tx) (bool, error) {
		words = 0
		lr := &lineReader{br: bufio.NewReaderSize(&guardedReader{r: r, g: g}, maxLine)}
		first, err := lr.next()
		switch {
		case err == io.EOF:
			return false, errFirstLineMissing
		case errors.Is(err, errLineTooLong):
			return false, errWrongVersion
		case err != nil:
			return false, err
		}
		totals, ok := parseHeader(first)
		if !ok {
			return false, errWrongVersion
		}
		if err := tx.Bucket(bucketMeta).Put(keyFeatureTotals, encodeTotals(bayes.Totals{})); err != nil {
			return false, err
		}
		for _, name := range allBuckets {
			if err := tx.DeleteBucket(name); err != nil {
				return false, err
			}
			b, err := tx.CreateBucket(name)
			if err != nil {
				return false, err
			}
			b.FillPercent = fillPercent
		}
		// Read everything first: bbolt splits pages only at commit, so
		// inserting in key order is what keeps a large restore linear.
		counts := make(map[string]bayes.Counts)
		for lineNo := 2; ; lineNo++ {
			line, err := lr.next()
			if err == io.EOF {
				break
			}
			if errors.Is(err, errLineTooLong) {
				return false, illFormed(lineNo, line, true)
			}
			if err != nil {
				return false, err
			}
			word, c, ok := parseWordLine(line)
			if !ok {
				return false, illFormed(lineNo, line, false)
			}
			counts[string(word)] = c
		}
		keys := make([]string, 0, len(counts))
		for w, c := range counts {
			if c != (bayes.Counts{}) {
				keys = append(keys, w)
			}
		}
		slices.Sort(keys)
		b := tx.Bucket(bucketWords)
		for _, w := range keys {
			if err := b.Put([]byte(w), encodeCounts(counts[w])); err != nil {
				return false, err
			}
		}
		words = len(keys)
		if err := tx.Bucket(bucketMeta).Put(keyTotals, encodeTotals(totals)); err != nil {
			return false, err
		}
		return true, bumpGeneration(tx)
	})
	if err != nil {
		return 0, fmt.Errorf("tokendb: restore: %w", err)
	}
	return words, nil
}

// guardedReader marks the caller's reader as caller code, so that its
// panics are not reported as a damaged database.
type guardedReader struct {
	r io.Reader
	g *guard
}

func (gr *guardedReader) Read(p []byte) (int, error) {
	gr.g.inCaller = true
	n, err := gr.r.Read(p)
	gr.g.inCaller = false
	return n, err
}

// lineReader returns lines without their "\n" (and without one "\r" before
// it); the last line may lack its newline.
type lineReader struct {
	br *bufio.Reader
}

// next returns the next line, valid until the following call; io.EOF at the
// end; errLineTooLong with the start of the line when it exceeds maxLine.
func (lr *lineReader) next() ([]byte, error) {
	line, err := lr.br.ReadSlice('\n')
	switch {
	case err == nil:
		line = line[:len(line)-1]
	case errors.Is(err, bufio.ErrBufferFull):
		start := bytes.Clone(line[:min(len(line), maxShownLine+1)])
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = lr.br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		return start, errLineTooLong
	case err == io.EOF:
		if len(line) == 0 {
			return nil, io.EOF
		}
	default:
		return nil, err
	}
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// parseHeader parses "SPAMORACLE/1 <good> <spam>".
func parseHeader(line []byte) (bayes.Totals, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(backupMagic))
	if !ok {
		return bayes.Totals{}, false
	}
	g, s, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return bayes.Totals{}, false
	}
	good, ok1 := parseCount(g)
	spam, ok2 := parseCount(s)
	return bayes.Totals{Good: good, Spam: spam}, ok1 && ok2
}

// parseWordLine splits "word good spam" at its first two spaces.
func parseWordLine(line []byte) ([]byte, bayes.Counts, bool) {
	word, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(word) == 0 || len(word) > maxWordLen {
		return nil, bayes.Counts{}, false
	}
	g, s, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return nil, bayes.Counts{}, false
	}
	good, ok1 := parseCount(g)
	spam, ok2 := parseCount(s)
	return word, bayes.Counts{Good: good, Spam: spam}, ok1 && ok2
}

// parseCount parses a non-empty string of decimal digits that fits 32 bits.
func parseCount(b []byte) (uint32, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + uint64(ch-'0')
		if n > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(n), true
}

// illFormed formats SpamOracle's error for line lineNo.
func illFormed(lineNo int, line []byte, truncated bool) error {
	if len(line) > maxShownLine {
		line, truncated = line[:maxShownLine], true
	}
	ellipsis := ""
	if truncated {
		ellipsis = "..."
	}
	return fmt.Errorf("ill-formed line %d: `%s%s'", lineNo, line, ellipsis)
}
