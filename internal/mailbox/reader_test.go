package mailbox

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	mboxTwo = "From a@b Sat Jan  3 01:05:34 1996\nSubject: one\n\n>From body\n\nFrom c@d Sat Jan  3 01:05:35 1996\nSubject: two\n\nbody\n"
	eml     = "Subject: single\n\nFrom here to there.\n"
)

// write creates path (and its parents) holding data.
func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipped(t *testing.T, data string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// origins returns the origins of msgs and errs in the order they came.
func readAll(t *testing.T, r *Reader) (got []string, msgs []Message, errs []*MessageError) {
	t.Helper()
	for range 1000 {
		m, err := r.Next()
		if err == io.EOF {
			if cerr := r.Close(); cerr != nil {
				t.Errorf("Close: %v", cerr)
			}
			return got, msgs, errs
		}
		if err != nil {
			var me *MessageError
			if !errors.As(err, &me) {
				t.Fatalf("Next: %v (%T), want a *MessageError", err, err)
			}
			got = append(got, "ERR "+me.Origin)
			errs = append(errs, me)
			continue
		}
		got = append(got, m.Origin)
		msgs = append(msgs, m)
	}
	t.Fatal("reader did not end")
	return nil, nil, nil
}

func wantOrigins(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestSingleFiles(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.eml")
	box := filepath.Join(dir, "box") // no extension: detected by content
	gzBox := filepath.Join(dir, "box.txt")
	gzMsg := filepath.Join(dir, "msg.dat")
	empty := filepath.Join(dir, "empty.eml")
	write(t, plain, eml)
	write(t, box, mboxTwo)
	write(t, gzBox, gzipped(t, mboxTwo))
	write(t, gzMsg, gzipped(t, eml))
	write(t, empty, "")

	got, msgs, errs := readAll(t, Open([]string{plain, box, gzBox, gzMsg, empty}, nil))
	wantOrigins(t, got, plain, box+":1", box+":2", gzBox+":1", gzBox+":2", gzMsg)
	if len(errs) > 0 || len(msgs) != 6 {
		t.FailNow()
	}
	for _, i := range []int{0, 5} {
		if string(msgs[i].Raw) != eml || msgs[i].Envelope != "" {
			t.Errorf("%s: %q, envelope %q; want the file unchanged", msgs[i].Origin, msgs[i].Raw, msgs[i].Envelope)
		}
	}
	for _, i := range []int{1, 3} {
		if string(msgs[i].Raw) != "Subject: one\n\nFrom body\n" || msgs[i].Envelope != "a@b Sat Jan  3 01:05:34 1996" {
			t.Errorf("%s: %q, envelope %q", msgs[i].Origin, msgs[i].Raw, msgs[i].Envelope)
		}
	}
	for _, i := range []int{2, 4} {
		if string(msgs[i].Raw) != "Subject: two\n\nbody\n" {
			t.Errorf("%s: %q", msgs[i].Origin, msgs[i].Raw)
		}
	}
}

func TestCommittedFixtures(t *testing.T) {
	box := filepath.Join("..", "..", "testdata", "mailbox", "sample.mbox")
	single := filepath.Join("..", "..", "testdata", "mailbox", "single.eml")
	got, msgs, _ := readAll(t, Open([]string{box, single}, nil))
	wantOrigins(t, got, box+":1", box+":2", single)
	if len(msgs) != 3 {
		t.FailNow()
	}
	if !bytes.Contains(msgs[0].Raw, []byte("\nFrom the desk of Alice.\n")) || bytes.HasSuffix(msgs[0].Raw, []byte("\n\n")) {
		t.Errorf("message 1 not unescaped or blank line kept: %q", msgs[0].Raw)
	}
	if !bytes.HasSuffix(msgs[1].Raw, []byte("Yes.\nFrom now on I will be on time.\n")) {
		t.Errorf("message 2 split or changed: %q", msgs[1].Raw)
	}
	if !bytes.HasPrefix(msgs[2].Raw, []byte("From: Carol")) {
		t.Errorf("single message changed: %q", msgs[2].Raw)
	}
}

func TestGzipErrors(t *testing.T) {
	dir := t.TempDir()
	full := gzipped(t, mboxTwo)
	truncated := filepath.Join(dir, "truncated.gz")
	write(t, truncated, full[:len(full)-12]) // body cut before its checksum
	badHeader := filepath.Join(dir, "badheader.gz")
	write(t, badHeader, "\x1f\x8b\x00junk")
	corrupt := filepath.Join(dir, "corrupt.gz")
	write(t, corrupt, full[:12]+strings.Repeat("\xff", len(full)-12))
	good := filepath.Join(dir, "good.eml")
	write(t, good, eml)

	got, _, errs := readAll(t, Open([]string{truncated, badHeader, corrupt, good}, nil))
	if len(got) == 0 || got[len(got)-1] != good {
		t.Errorf("good file not read after broken ones: %q", got)
	}
	if len(errs) < 3 {
		t.Fatalf("got %d errors, want one per broken file: %q", len(errs), got)
	}
	for _, e := range errs {
		if !strings.Contains(e.Error(), "gzip") && !strings.Contains(e.Error(), "gunzip") && !strings.Contains(e.Error(), "flate") {
			t.Errorf("error %q does not say gzip", e)
		}
	}
}

func TestMaildir(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "Maildir")
	write(t, filepath.Join(md, "cur", "1000.M1.host:2,S"), eml)
	write(t, filepath.Join(md, "cur", ".hidden"), eml)
	write(t, filepath.Join(md, "new", "1001.M2.host"), eml)
	write(t, filepath.Join(md, "new", "1002.M3.host"), mboxTwo)
	write(t, filepath.Join(md, "tmp", "1003.M4.host"), eml)
	write(t, filepath.Join(md, "dovecot-uidlist"), "3 V1 N4\n")
	write(t, filepath.Join(md, ".Sent", "cur", "1004.M5.host:2,S"), eml) // Maildir++ folder: skipped
	write(t, filepath.Join(md, "Archive", "new", "1005.M6.host"), eml)   // nested Maildir
	if err := os.MkdirAll(filepath.Join(md, "Archive", "cur"), 0o755); err != nil {
		t.Fatal(err)
	}

	got, msgs, errs := readAll(t, Open([]string{md}, nil))
	wantOrigins(t, got,
		filepath.Join(md, "cur", "1000.M1.host:2,S"),
		filepath.Join(md, "new", "1001.M2.host"),
		filepath.Join(md, "new", "1002.M3.host")+":1",
		filepath.Join(md, "new", "1002.M3.host")+":2",
		filepath.Join(md, "Archive", "new", "1005.M6.host"),
	)
	if len(errs) > 0 || string(msgs[0].Raw) != eml {
		t.Errorf("errors %v, first message %q", errs, msgs[0].Raw)
	}
	// Reading never moves a file out of new/.
	for _, name := range []string{"1001.M2.host", "1002.M3.host"} {
		if _, err := os.Stat(filepath.Join(md, "new", name)); err != nil {
			t.Errorf("new/%s: %v", name, err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(md, "cur"))
	if err != nil || len(entries) != 2 {
		t.Errorf("cur/ changed: %d entries, %v", len(entries), err)
	}
}

func TestMH(t *testing.T) {
	dir := t.TempDir()
	mh := filepath.Join(dir, "inbox")
	for _, n := range []string{"10", "2", "1", "007"} {
		write(t, filepath.Join(mh, n), "Subject: "+n+"\n\nbody\n")
	}
	write(t, filepath.Join(mh, mhSequences), "unseen: 2-10\n")
	write(t, filepath.Join(mh, ",3"), eml) // deleted message
	write(t, filepath.Join(mh, "#4"), eml) // backup
	write(t, filepath.Join(mh, ".xmhcache"), eml)
	write(t, filepath.Join(mh, "sub", "5"), eml) // sub-folder, read after the messages

	got, _, errs := readAll(t, Open([]string{mh}, nil))
	wantOrigins(t, got,
		filepath.Join(mh, "1"), filepath.Join(mh, "2"), filepath.Join(mh, "007"), filepath.Join(mh, "10"),
		filepath.Join(mh, "sub", "5"))
	if len(errs) > 0 {
		t.Error(errs)
	}
}

func TestMHWithoutSequences(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"10", "9", "100"} {
		write(t, filepath.Join(dir, n), eml)
	}
	got, _, _ := readAll(t, Open([]string{dir}, nil))
	wantOrigins(t, got, filepath.Join(dir, "9"), filepath.Join(dir, "10"), filepath.Join(dir, "100"))
}

func TestWalk(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b.eml"), eml)
	write(t, filepath.Join(dir, "a.mbox"), mboxTwo)
	write(t, filepath.Join(dir, ".hidden.eml"), eml)
	write(t, filepath.Join(dir, ".git", "HEAD"), "ref: refs/heads/main\n")
	write(t, filepath.Join(dir, "c", "mail", "new", "1.host"), eml) // nested Maildir
	write(t, filepath.Join(dir, "c", "mail", "tmp", "2.host"), eml)
	write(t, filepath.Join(dir, "c", "10.eml"), eml) // not an MH folder: name order
	write(t, filepath.Join(dir, "c", "9.eml"), eml)
	write(t, filepath.Join(dir, "d", "2"), eml) // MH folder
	write(t, filepath.Join(dir, "d", "10"), eml)
	if err := os.Symlink(filepath.Join(dir, "b.eml"), filepath.Join(dir, "e-link.eml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "f-loop")); err != nil { // not followed
		t.Fatal(err)
	}

	got, _, errs := readAll(t, Open([]string{dir}, nil))
	wantOrigins(t, got,
		filepath.Join(dir, "a.mbox")+":1",
		filepath.Join(dir, "a.mbox")+":2",
		filepath.Join(dir, "b.eml"),
		filepath.Join(dir, "c", "10.eml"),
		filepath.Join(dir, "c", "9.eml"),
		filepath.Join(dir, "c", "mail", "new", "1.host"),
		filepath.Join(dir, "d", "2"),
		filepath.Join(dir, "d", "10"),
		filepath.Join(dir, "e-link.eml"),
	)
	if len(errs) > 0 {
		t.Error(errs)
	}
}

func TestStdin(t *testing.T) {
	in := "Subject: piped\n\nbody\n\nFrom a@b Sat Jan  3 01:05:34 1996\n>From x\n"
	got, msgs, errs := readAll(t, Open([]string{"-"}, strings.NewReader(in)))
	wantOrigins(t, got, "-")
	if len(errs) > 0 || len(msgs) != 1 || string(msgs[0].Raw) != in {
		t.Fatalf("stdin not read as one unchanged message: %+v %v", msgs, errs)
	}

	// A leading envelope line is taken off, the rest is not split.
	in = "From a@b Sat Jan  3 01:05:34 1996\r\nSubject: x\r\n\r\nFrom c@d Sat Jan  3 01:05:35 1996\r\n>From y\r\n"
	_, msgs, _ = readAll(t, Open([]string{"-"}, strings.NewReader(in)))
	if len(msgs) != 1 || msgs[0].Envelope != "a@b Sat Jan  3 01:05:34 1996" ||
		string(msgs[0].Raw) != "Subject: x\r\n\r\nFrom c@d Sat Jan  3 01:05:35 1996\r\n>From y\r\n" {
		t.Errorf("got %+v", msgs)
	}

	// gzip is undone on stdin too.
	_, msgs, _ = readAll(t, Open([]string{"-"}, strings.NewReader(gzipped(t, eml))))
	if len(msgs) != 1 || string(msgs[0].Raw) != eml {
		t.Errorf("gzipped stdin: %+v", msgs)
	}

	// Standard input can be read once; without one, "-" is an error.
	got, _, _ = readAll(t, Open([]string{"-", "-"}, strings.NewReader(eml)))
	wantOrigins(t, got, "-", "ERR -")
	got, _, _ = readAll(t, Open([]string{"-"}, nil))
	wantOrigins(t, got, "ERR -")
}

func TestUnreadablePaths(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.eml")
	write(t, good, eml)
	missing := filepath.Join(dir, "missing.eml")
	dangling := filepath.Join(dir, "dangling.eml")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(good, "child") // fails even for root: ENOTDIR

	got, _, errs := readAll(t, Open([]string{missing, dangling, notDir, good}, nil))
	wantOrigins(t, got, "ERR "+missing, "ERR "+dangling, "ERR "+notDir, good)
	if len(errs) == 3 {
		if !errors.Is(errs[0], fs.ErrNotExist) || !errors.Is(errs[1], fs.ErrNotExist) {
			t.Errorf("errors do not unwrap to fs.ErrNotExist: %v, %v", errs[0], errs[1])
		}
		if want := "mailbox: " + missing + ": stat: no such file or directory"; errs[0].Error() != want {
			t.Errorf("error text %q, want %q", errs[0].Error(), want)
		}
	}

	// In a walk, a dangling link is reported and the walk goes on.
	walk := filepath.Join(dir, "walk")
	write(t, filepath.Join(walk, "b.eml"), eml)
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(walk, "a.eml")); err != nil {
		t.Fatal(err)
	}
	got, _, _ = readAll(t, Open([]string{walk}, nil))
	wantOrigins(t, got, "ERR "+filepath.Join(walk, "a.eml"), filepath.Join(walk, "b.eml"))
}

func TestPermissionDenied(t *testing.T) {
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked.eml")
	write(t, locked, eml)
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	if f, err := os.Open(locked); err == nil {
		if cerr := f.Close(); cerr != nil {
			t.Fatal(cerr)
		}
		t.Skip("running with privileges that ignore file modes; see TestUnreadablePaths")
	}
	got, _, errs := readAll(t, Open([]string{locked}, nil))
	wantOrigins(t, got, "ERR "+locked)
	if len(errs) == 1 && !errors.Is(errs[0], fs.ErrPermission) {
		t.Errorf("error %v does not unwrap to fs.ErrPermission", errs[0])
	}
}

func TestMaxMessageSize(t *testing.T) {
	dir := t.TempDir()
	exact := filepath.Join(dir, "exact.eml")
	big := filepath.Join(dir, "big.eml")
	bigGz := filepath.Join(dir, "big.gz")
	write(t, exact, strings.Repeat("a", 64))
	write(t, big, strings.Repeat("b", 65))
	write(t, bigGz, gzipped(t, strings.Repeat("c", 1000))) // small on disk, big once decompressed
	opts := Options{MaxMessageSize: 64}

	got, _, errs := readAll(t, OpenWithOptions([]string{exact, big, bigGz, "-"}, strings.NewReader(strings.Repeat("d", 65)), opts))
	wantOrigins(t, got, exact, "ERR "+big, "ERR "+bigGz, "ERR -")
	for _, e := range errs {
		if !strings.Contains(e.Error(), "larger than 64 bytes") {
			t.Errorf("%v: want a size error", e)
		}
	}

	// Zero means the default, which is far above these sizes.
	got, _, _ = readAll(t, OpenWithOptions([]string{big}, nil, Options{}))
	wantOrigins(t, got, big)
}

func TestNoPathsAndClose(t *testing.T) {
	r := Open(nil, nil)
	for range 2 {
		_, err := r.Next()
		var me *MessageError
		if err == nil || err == io.EOF || errors.As(err, &me) {
			t.Fatalf("Next with no paths = %v, want a usage error", err)
		}
	}

	dir := t.TempDir()
	box := filepath.Join(dir, "box")
	write(t, box, mboxTwo)
	r = Open([]string{box}, nil)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if r.cur == nil {
		t.Fatal("file not open after the first of two messages")
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if r.cur != nil {
		t.Error("file still held after Close")
	}
	if _, err := r.Next(); err == nil || err == io.EOF {
		t.Errorf("Next after Close = %v, want an error", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// failingCloser fails to close, to check that the failure is reported.
type failingCloser struct{ io.Reader }

func (failingCloser) Close() error { return errors.New("disk on fire") }

func TestCloseErrorReported(t *testing.T) {
	r := Open([]string{"x"}, nil)
	r.todo = nil
	if err := r.startStream("x", strings.NewReader(eml), failingCloser{}, false); err != nil {
		t.Fatal(err)
	}
	got, _, errs := readAll(t, r)
	wantOrigins(t, got, "x", "ERR x")
	if len(errs) == 1 && !strings.Contains(errs[0].Error(), "disk on fire") {
		t.Errorf("close error %v", errs[0])
	}
}

func TestMessageError(t *testing.T) {
	inner := errors.New("boom")
	e := &MessageError{Origin: "box:3", Err: inner}
	if e.Error() != "mailbox: box:3: boom" {
		t.Errorf("Error() = %q", e.Error())
	}
	if !errors.Is(e, inner) {
		t.Error("Unwrap does not reach the cause")
	}
}

func TestInputIndex(t *testing.T) {
	dir := t.TempDir()
	mbox := filepath.Join(dir, "box")
	if err := os.WriteFile(mbox, []byte("From a@b Mon Jan  1 00:00:00 2024\nS: 1\n\nx\n\nFrom a@b Mon Jan  1 00:00:00 2024\nS: 2\n\ny\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "tree", "deep")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "m.eml"), []byte("S: 3\n\nz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := Open([]string{mbox, filepath.Join(dir, "missing"), filepath.Join(dir, "tree"), "-"}, strings.NewReader("S: 4\n\nw\n"))
	defer r.Close()
	var got []int
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		var me *MessageError
		if errors.As(err, &me) {
			got = append(got, -me.Input-10)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Input)
	}
	// 0, 0 from the mbox; -11 for the missing path (input 1); 2 from the
	// tree; 3 for stdin.
	if want := []int{0, 0, -11, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("inputs %v, want %v", got, want)
	}
}

func TestPathAndIndex(t *testing.T) {
	dir := t.TempDir()
	box, one := filepath.Join(dir, "box"), filepath.Join(dir, "one.eml")
	if err := os.WriteFile(box, []byte(mboxTwo), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(one, []byte(eml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, msgs, errs := readAll(t, Open([]string{box, one}, nil))
	if len(errs) > 0 || len(msgs) != 3 {
		t.Fatalf("%d messages, errors %v", len(msgs), errs)
	}
	want := []struct {
		path  string
		index int
	}{{box, 1}, {box, 2}, {one, 0}}
	for i, w := range want {
		if msgs[i].Path != w.path || msgs[i].Index != w.index {
			t.Errorf("message %d: path %q index %d, want %q %d", i, msgs[i].Path, msgs[i].Index, w.path, w.index)
		}
	}
}
