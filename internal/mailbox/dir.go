package mailbox

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// mhSequences is the file nmh keeps in every MH folder.
const mhSequences = ".mh_sequences"

// queueDir lists dir and queues its entries in reading order. A Maildir
// yields cur/ then new/ (tmp/ is skipped) and then its other sub-folders; an
// MH folder yields its numbered messages in numeric order and then its
// sub-folders; any other directory yields its entries by name. Dotfiles and
// dot-directories are skipped everywhere.
func (r *Reader) queueDir(dir string) error {
	entries, err := os.ReadDir(dir) // sorted by name
	var rerr error
	if err != nil {
		// Report, and still read what could be listed.
		rerr = &MessageError{Origin: dir, Err: opError("read directory", err)}
	}
	var work []item
	switch {
	case isMaildir(entries):
		for _, e := range entries {
			if e.IsDir() && e.Name() == "cur" {
				work = append(work, item{kind: itemMaildir, path: filepath.Join(dir, "cur")})
			}
		}
		for _, e := range entries {
			if e.IsDir() && e.Name() == "new" {
				work = append(work, item{kind: itemMaildir, path: filepath.Join(dir, "new")})
			}
		}
		for _, e := range entries {
			switch name := e.Name(); {
			case hidden(name) || !e.IsDir() || name == "cur" || name == "new" || name == "tmp":
				// Files at the top of a Maildir are bookkeeping
				// (dovecot-uidlist, maildirfolder, ...), not mail.
			default:
				work = append(work, item{kind: itemWalk, path: filepath.Join(dir, name)})
			}
		}
	case isMH(entries):
		var msgs []fs.DirEntry
		for _, e := range entries {
			if !e.IsDir() && isNumber(e.Name()) {
				msgs = append(msgs, e)
			}
		}
		slices.SortStableFunc(msgs, func(a, b fs.DirEntry) int { return compareNumbers(a.Name(), b.Name()) })
		for _, e := range msgs {
			work = append(work, item{kind: itemFile, path: filepath.Join(dir, e.Name())})
		}
		// Other files (",12" and "#12" are deleted or backed-up messages
		// in nmh) are skipped; sub-folders are read after the messages.
		for _, e := range entries {
			if e.IsDir() && !hidden(e.Name()) {
				work = append(work, item{kind: itemWalk, path: filepath.Join(dir, e.Name())})
			}
		}
	default:
		for _, e := range entries {
			if !hidden(e.Name()) {
				work = append(work, item{kind: itemWalk, path: filepath.Join(dir, e.Name())})
			}
		}
	}
	r.push(work)
	return rerr
}

// queueMaildirSub queues the message files of a Maildir's cur/ or new/, by
// name. Files are only read, never moved or renamed.
func (r *Reader) queueMaildirSub(dir string) error {
	entries, err := os.ReadDir(dir)
	var rerr error
	if err != nil {
		rerr = &MessageError{Origin: dir, Err: opError("read directory", err)}
	}
	var work []item
	for _, e := range entries {
		if !e.IsDir() && !hidden(e.Name()) {
			work = append(work, item{kind: itemFile, path: filepath.Join(dir, e.Name())})
		}
	}
	r.push(work)
	return rerr
}

// push puts work on the stack so that work[0] is done first.
func (r *Reader) push(work []item) {
	for i := len(work) - 1; i >= 0; i-- {
		r.todo = append(r.todo, work[i])
	}
}

// isMaildir reports whether a directory holds cur/ or new/.
func isMaildir(entries []fs.DirEntry) bool {
	for _, e := range entries {
		if e.IsDir() && (e.Name() == "cur" || e.Name() == "new") {
			return true
		}
	}
	return false
}

// isMH reports whether a directory is an MH folder: it holds .mh_sequences,
// or its files (dotfiles aside) are all named by decimal numbers and there is
// at least one.
func isMH(entries []fs.DirEntry) bool {
	numbered := false
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == mhSequences:
			return true
		case e.IsDir() || hidden(name):
		case isNumber(name):
			numbered = true
		default:
			return slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return e.Name() == mhSequences })
		}
	}
	return numbered
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

// isNumber reports whether s is a non-empty string of ASCII digits.
func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareNumbers orders decimal strings of any length by value, then by
// name, so that "2" comes before "10" and "07" before "7".
func compareNumbers(a, b string) int {
	ta, tb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(ta) != len(tb) {
		return len(ta) - len(tb)
	}
	if c := strings.Compare(ta, tb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
