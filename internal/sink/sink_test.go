package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailsift/mailsift/report"
)

var ctx = context.Background()

// lines splits data into lines, failing unless it ends in a newline
// and every line is a JSON object.
func jsonLines(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("output does not end in a newline")
	}
	var out []map[string]any
	for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(line) == 0 && len(data) == 0 {
			break
		}
		var v map[string]any
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%.200s", i+1, err, line)
		}
		out = append(out, v)
	}
	return out
}

func TestStdout(t *testing.T) {
	var buf bytes.Buffer
	s, err := Open("-", &buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*report.Report{richReport(), plainReport()} {
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := jsonLines(t, buf.Bytes())
	if len(got) != 2 || got[0]["id"] != richID || got[1]["error"] != "no header section" {
		t.Fatalf("lines = %v", got)
	}
	if !strings.Contains(buf.String(), `"subject":"Your <b>invoice</b> & receipt"`) {
		t.Error("HTML in strings was escaped")
	}
	// A line decodes back to the report it came from.
	var back report.Report
	if err := json.Unmarshal(bytes.SplitN(buf.Bytes(), []byte("\n"), 2)[0], &back); err != nil {
		t.Fatal(err)
	}
	want := richReport()
	if back.ID != want.ID || !back.AnalysedAt.Equal(want.AnalysedAt) || len(back.Attachments[0].Members) != 2 ||
		back.Attachments[0].Members[0].Payload != want.Attachments[0].Members[0].Payload {
		t.Error("report did not survive the round trip")
	}
}

func TestCloseFlushesBufferedStdout(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriterSize(&buf, 1<<20)
	s, err := Open("-", w)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, plainReport()); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Fatal("buffered writer flushed early; the test proves nothing")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(jsonLines(t, buf.Bytes())) != 1 {
		t.Errorf("after Close: %q", buf.String())
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec string
		want []string
	}{
		{"", []string{`sink: open ""`, "unknown destination", `"-"`, "jsonl:PATH", "dir:PATH", "esbulk:PATH"}},
		{"out.jsonl", []string{"unknown destination", "jsonl:PATH[?max_size=SIZE&rotate=daily]"}},
		{"redis://localhost", []string{"unknown destination", "esbulk:PATH[?prefix=NAME"}},
		{"jsonl:", []string{"no path"}},
		{"jsonl:?max_size=1M", []string{"no path"}},
		{"jsonl:" + dir + "/r.jsonl?max_size=big", []string{"max_size=big", "100MB"}},
		{"jsonl:" + dir + "/r.jsonl?max_size=0", []string{"max_size=0"}},
		{"jsonl:" + dir + "/r.jsonl?rotate=hourly", []string{"rotate=hourly", "want rotate=daily"}},
		{"jsonl:" + dir + "/r.jsonl?prefix=x", []string{`unknown option "prefix"`, "jsonl takes max_size, rotate"}},
		{"esbulk:" + dir + "/b.ndjson?colour=red", []string{`unknown option "colour"`, "esbulk takes max_size, rotate, prefix"}},
		{"esbulk:" + dir + "/b.ndjson?prefix=Mail", []string{"not lower-case"}},
		{"esbulk:" + dir + "/b.ndjson?prefix=_x", []string{"starts with"}},
		{"dir:" + dir + "?max_size=1M", []string{"dir takes no options"}},
		{"jsonl:" + dir + "/r.jsonl?%zz", []string{"bad options"}},
		{"jsonl:" + dir, []string{"sink: open " + dir, "is a directory"}},
		{"jsonl:" + file + "/r.jsonl", []string{"sink: open " + file + "/r.jsonl"}},
		{"dir:" + file, []string{"sink: open dir " + file}},
	}
	for _, tt := range tests {
		s, err := Open(tt.spec, os.Stdout)
		if err == nil {
			_ = s.Close()
			t.Errorf("Open(%q) succeeded", tt.spec)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Open(%q) = %q, want it to contain %q", tt.spec, err, w)
			}
		}
	}
	if _, err := Open("-", nil); err == nil {
		t.Error(`Open("-", nil) succeeded`)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "512": 512, "1K": 1024, "2kb": 2048, "1KiB": 1024,
		"100MB": 100 << 20, "3m": 3 << 20, "1G": 1 << 30, "2GiB": 2 << 30, "7B": 7} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1M", "0", "1T", "1.5M", "1 MB", "99999999999G", "1MBB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestWriteAfterClose(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []string{"-", "jsonl:" + dir + "/r.jsonl", "dir:" + dir + "/tree", "esbulk:" + dir + "/b.ndjson"} {
		s, err := Open(spec, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("%s: Close: %v", spec, err)
		}
		if err := s.Write(ctx, richReport()); !errors.Is(err, ErrClosed) {
			t.Errorf("%s: Write after Close = %v, want ErrClosed", spec, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("%s: second Close = %v", spec, err)
		}
		if err := s.Write(ctx, nil); err == nil {
			t.Errorf("%s: Write(nil) succeeded", spec)
		}
	}
}

func TestWriteCancelled(t *testing.T) {
	c, cancel := context.WithCancel(ctx)
	cancel()
	dir := t.TempDir()
	for _, spec := range []string{"-", "dir:" + dir} {
		var buf bytes.Buffer
		s, err := Open(spec, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(c, richReport()); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Write = %v, want context.Canceled", spec, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: a cancelled Write wrote", spec)
		}
	}
}

func TestJSONLAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "r.jsonl")
	for range 2 {
		s, err := Open("jsonl:"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, richReport()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(jsonLines(t, data)); n != 2 {
		t.Errorf("%d lines after two opens, want 2", n)
	}
}

// A device such as /dev/null cannot be synced; closing it is no error.
func TestJSONLDevice(t *testing.T) {
	if _, err := os.Stat(os.DevNull); err != nil {
		t.Skipf("no %s: %v", os.DevNull, err)
	}
	s, err := Open("jsonl:"+os.DevNull, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, richReport()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// clock is a settable time source for rotation.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// files returns the names in dir, sorted, and every line in them.
func files(t *testing.T, dir string) (names []string, lines map[string]int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	lines = map[string]int{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
		lines[e.Name()] = len(jsonLines(t, data))
	}
	return names, lines
}

func TestJSONLRotateBySize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.jsonl")
	var line bytes.Buffer
	if err := encodeLine(richReport(), &line); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	// Room for two lines and a bit: the third starts a new file.
	f, err := openRotating(path, int64(2*line.Len()+10), false, c.now)
	if err != nil {
		t.Fatal(err)
	}
	s := newStream(path, f, encodeLine)
	for range 5 {
		if err := s.Write(ctx, richReport()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	names, lines := files(t, dir)
	want := []string{"r-20260304T100000Z-1.jsonl", "r-20260304T100000Z.jsonl", "r.jsonl"}
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	if lines["r-20260304T100000Z.jsonl"] != 2 || lines["r-20260304T100000Z-1.jsonl"] != 2 || lines["r.jsonl"] != 1 {
		t.Errorf("lines per file %v, want 2, 2, 1", lines)
	}
	// A report larger than the limit still goes out, alone in its file.
	f, err = openRotating(filepath.Join(dir, "small.jsonl"), 10, false, c.now)
	if err != nil {
		t.Fatal(err)
	}
	s = newStream(path, f, encodeLine)
	for range 2 {
		if err := s.Write(ctx, plainReport()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, lines = files(t, dir); lines["small.jsonl"] != 1 || lines["small-20260304T100000Z.jsonl"] != 1 {
		t.Errorf("oversized lines: %v", lines)
	}
}

func TestJSONLRotateDaily(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.jsonl")
	c := &clock{t: time.Date(2026, 3, 4, 23, 59, 0, 0, time.UTC)}
	f, err := openRotating(path, 0, true, c.now)
	if err != nil {
		t.Fatal(err)
	}
	s := newStream(path, f, encodeLine)
	write := func(n int) {
		for range n {
			if err := s.Write(ctx, plainReport()); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(2)
	c.set(time.Date(2026, 3, 5, 0, 0, 1, 0, time.UTC))
	write(3)
	// Local midnight elsewhere is no UTC day change.
	c.set(time.Date(2026, 3, 5, 23, 0, 0, 0, time.FixedZone("", -5*3600)))
	write(1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	names, lines := files(t, dir)
	want := []string{"r-20260305T000001Z.jsonl", "r-20260306T040000Z.jsonl", "r.jsonl"}
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	if lines[want[0]] != 2 || lines[want[1]] != 3 || lines[want[2]] != 1 {
		t.Errorf("lines %v", lines)
	}

	// A file left from an earlier day is rotated on the first write.
	old := filepath.Join(dir, "old.jsonl")
	if err := os.WriteFile(old, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yesterday := c.now().Add(-24 * time.Hour)
	if err := os.Chtimes(old, yesterday, yesterday); err != nil {
		t.Fatal(err)
	}
	f, err = openRotating(old, 0, true, c.now)
	if err != nil {
		t.Fatal(err)
	}
	s = newStream(old, f, encodeLine)
	write(1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, lines = files(t, dir); lines["old.jsonl"] != 1 || lines["old-20260306T040000Z.jsonl"] != 1 {
		t.Errorf("old file not rotated: %v", lines)
	}
}

func TestRotationFailureKeepsWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.jsonl")
	c := &clock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	f, err := openRotating(path, 1, false, c.now)
	if err != nil {
		t.Fatal(err)
	}
	s := newStream(path, f, encodeLine)
	if err := s.Write(ctx, plainReport()); err != nil {
		t.Fatal(err)
	}
	// A directory where the rotated file should go makes the rename fail.
	if err := os.MkdirAll(filepath.Join(dir, "r-20260304T100000Z.jsonl", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 1000; i++ {
		if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("r-20260304T100000Z-%d.jsonl", i)), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Write(ctx, plainReport()); err == nil || !strings.Contains(err.Error(), "too many rotated files") {
		t.Errorf("Write = %v, want the rotation error", err)
	}
	c.set(c.now().Add(time.Second))
	if err := s.Write(ctx, plainReport()); err != nil {
		t.Errorf("Write after a failed rotation: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "r-20260304T100001Z.jsonl"))
	if err != nil || len(jsonLines(t, data)) != 1 {
		t.Errorf("rotated file after recovery: %v", err)
	}
}

func TestConcurrentWritesAreWholeLines(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []string{"jsonl:" + dir + "/r.jsonl?max_size=64K", "esbulk:" + dir + "/b.ndjson"} {
		s, err := Open(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		const workers, each = 8, 25
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					r := richReport()
					r.ID = fmt.Sprintf("%02d%062d", w, i)
					if err := s.Write(ctx, r); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	names, lines := files(t, dir)
	jsonl, bulk := 0, 0
	for _, n := range names {
		if strings.HasPrefix(n, "r") {
			jsonl += lines[n]
		} else {
			bulk += lines[n]
		}
	}
	if jsonl != 200 {
		t.Errorf("%d whole JSON lines in %v, want 200", jsonl, names)
	}
	if want := 200 * 2 * len(ElasticDocs(richReport(), "x")); bulk != want {
		t.Errorf("%d bulk lines, want %d", bulk, want)
	}
}

func TestDir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "reports")
	s, err := Open("dir:"+root, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := richReport()
	if err := s.Write(ctx, r); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "2026", "03", "04", richID+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("{\n  \"version\": \"1.0\",\n")) || !bytes.HasSuffix(data, []byte("}\n")) {
		t.Errorf("not indented JSON:\n%.100s", data)
	}
	if !bytes.Contains(data, []byte(`"Your <b>invoice</b> & receipt"`)) {
		t.Error("HTML escaped")
	}
	// The same id again replaces the file.
	r.Origin = "second"
	if err := s.Write(ctx, r); err != nil {
		t.Fatal(err)
	}
	var back report.Report
	data, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &back); err != nil || back.Origin != "second" {
		t.Errorf("overwrite: origin %q, err %v", back.Origin, err)
	}
	// The date is AnalysedAt's in UTC.
	if err := s.Write(ctx, plainReport()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "2026", "03", "05", plainReport().ID+".json")); err != nil {
		t.Errorf("UTC day: %v", err)
	}
	for _, id := range []string{"", ".", "..", "../x", "a/b", ".hidden", "a b", strings.Repeat("a", 201)} {
		bad := plainReport()
		bad.ID = id
		if err := s.Write(ctx, bad); err == nil || !strings.Contains(err.Error(), "not a file name") {
			t.Errorf("id %q: %v", id, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// No temporary files are left, and nothing escaped the tree.
	var all []string
	err = filepath.WalkDir(filepath.Dir(root), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			all = append(all, strings.TrimPrefix(p, filepath.Dir(root)))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Errorf("files: %v, want the two reports", all)
	}
}

func TestDirConcurrentSameID(t *testing.T) {
	root := t.TempDir()
	s, err := Open("dir:"+root, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := richReport()
			r.Origin = fmt.Sprint(i)
			if err := s.Write(ctx, r); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "2026", "03", "04", richID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var back report.Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("overwritten file is not whole: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "2026", "03", "04"))
	if len(entries) != 1 {
		t.Errorf("%d entries, want one file", len(entries))
	}
}

// failing is a Sink whose Write fails.
type failing struct {
	err            error
	writes, closes int
}

func (f *failing) Write(context.Context, *report.Report) error { f.writes++; return f.err }
func (f *failing) Close() error                                { f.closes++; return f.err }

func TestMulti(t *testing.T) {
	var a, b bytes.Buffer
	sa, err := Open("-", &a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Open("-", &b)
	if err != nil {
		t.Fatal(err)
	}
	bad1, bad2 := &failing{err: errors.New("first")}, &failing{err: errors.New("second")}
	m := Multi(sa, bad1, nil, bad2, sb)
	if err := m.Write(ctx, plainReport()); err == nil || err.Error() != "first" {
		t.Errorf("Write = %v, want the first error", err)
	}
	if a.Len() == 0 || b.Len() == 0 || bad2.writes != 1 {
		t.Error("Multi stopped at the failing sink")
	}
	err = m.Close()
	if err == nil || !strings.Contains(err.Error(), "first") || !strings.Contains(err.Error(), "second") {
		t.Errorf("Close = %v, want both errors", err)
	}
	if bad1.closes != 1 || bad2.closes != 1 {
		t.Error("not every sink closed")
	}
	if err := m.Write(ctx, plainReport()); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
	if err := m.Close(); err != nil || bad1.closes != 1 {
		t.Errorf("second Close = %v, closes %d", err, bad1.closes)
	}
	empty := Multi()
	if err := empty.Write(ctx, plainReport()); err != nil {
		t.Errorf("empty Multi: %v", err)
	}
	if err := empty.Close(); err != nil {
		t.Fatal(err)
	}
}
