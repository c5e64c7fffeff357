package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailsift/mailsift/internal/attach/attachtest"
	"github.com/mailsift/mailsift/report"
)

// reports decodes JSON lines into reports.
func reports(t *testing.T, out string) []report.Report {
	t.Helper()
	var rs []report.Report
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r report.Report
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v", len(rs)+1, err)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestAnalyzeCommand(t *testing.T) {
	db := trained(t)
	r := mailsift(t, "", "--db", db, "analyze", fixtures+"ham.mbox", fixtures+"spam.mbox", fixtures+"msg1.eml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	rs := reports(t, r.stdout)
	if len(rs) != 9 {
		t.Fatalf("%d reports, want 9", len(rs))
	}
	for i, rep := range rs {
		want := fmt.Sprintf("%sham.mbox:%d", fixtures, i+1)
		if i >= 4 {
			want = fmt.Sprintf("%sspam.mbox:%d", fixtures, i-3)
		}
		if i == 8 {
			want = fixtures + "msg1.eml"
		}
		if rep.Origin != want {
			t.Errorf("report %d from %s, want %s (input order)", i, rep.Origin, want)
		}
		if len(rep.ID) != 64 || rep.Version != report.Version || rep.Spam == nil || rep.Phishing == nil {
			t.Errorf("report %d incomplete: id %q spam %v phishing %v", i, rep.ID, rep.Spam, rep.Phishing)
		}
	}
	if rs[0].Spam.Verdict != "no" || rs[4].Spam.Verdict != "yes" {
		t.Errorf("spam verdicts of a trained ham and spam: %s, %s", rs[0].Spam.Verdict, rs[4].Spam.Verdict)
	}

	// Without a database there is no verdict, and no error.
	r = mailsift(t, "", "--db", filepath.Join(t.TempDir(), "none.db"), "analyze", "--workers", "1", "--unordered", fixtures+"msg1.eml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if rs := reports(t, r.stdout); len(rs) != 1 || rs[0].Spam != nil {
		t.Errorf("without a database: %+v", rs)
	}
}

func TestAnalyzeOutputs(t *testing.T) {
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "r.jsonl")
	r := mailsift(t, "", "--db", filepath.Join(dir, "none.db"), "analyze", "--out", "jsonl:"+jsonl, "--out", "dir:"+filepath.Join(dir, "reports"), fixtures+"ham.mbox")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	rs := reports(t, string(data))
	if len(rs) != 4 {
		t.Fatalf("%d reports in %s", len(rs), jsonl)
	}
	for _, rep := range rs {
		p := filepath.Join(dir, "reports", rep.AnalysedAt.Format("2006/01/02"), rep.ID+".json")
		if _, err := os.Stat(p); err != nil {
			t.Errorf("dir sink: %v", err)
		}
	}
	r = mailsift(t, "", "analyze", "--out", "ftp://x", fixtures+"msg1.eml")
	if r.code != exitError || !strings.Contains(r.stderr, "ftp://x") {
		t.Errorf("unknown sink: exit %d, %q", r.code, r.stderr)
	}
}

// A mail that cannot be read still gets a report, with the error, and the
// exit status says so; the run goes on.
func TestAnalyzeUnreadable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.eml")
	r := mailsift(t, "", "--db", missing+".db", "analyze", missing, fixtures+"msg1.eml")
	if r.code != exitPartial {
		t.Fatalf("exit %d, want %d: %s", r.code, exitPartial, r.stderr)
	}
	rs := reports(t, r.stdout)
	if len(rs) != 2 || rs[0].Error == "" || rs[0].Origin != missing || rs[1].Error != "" {
		t.Fatalf("reports: %+v", rs)
	}
	if !strings.Contains(r.stderr, "missing.eml") {
		t.Errorf("stderr %q does not name the file", r.stderr)
	}
}

// The seen filters persist between runs: the second analysis of a mail is
// marked filtered and its heavy stages are skipped.
func TestAnalyzeSeenAcrossRuns(t *testing.T) {
	home := testConfigHome(t)
	seen := filepath.Join(t.TempDir(), "seen")
	cfg := filepath.Join(home, "mailsift", "config.yml")
	if err := os.WriteFile(cfg, []byte("analysis:\n  seen:\n    dir: "+seen+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []bool
	for range 2 {
		r := mailsift(t, "", "--config", cfg, "--db", filepath.Join(seen, "none.db"), "analyze", fixtures+"msg1.eml")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		rs := reports(t, r.stdout)
		got = append(got, rs[0].Filtered)
		if rs[0].Filtered != (rs[0].Phishing == nil) {
			t.Errorf("filtered %v but phishing %v", rs[0].Filtered, rs[0].Phishing)
		}
	}
	if got[0] || !got[1] {
		t.Errorf("is_filtered over two runs: %v, want false then true", got)
	}
}

// writeMail writes the mail that build returns to a file, so that the test
// holds none of it when it starts mailsift.
func writeMail(t *testing.T, build func() []byte) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "big.eml")
	if err := os.WriteFile(in, build(), 0o600); err != nil {
		t.Fatal(err)
	}
	return in
}

// peakRSS runs mailsift analyze on one mail in its own process and returns
// the peak resident memory in MiB and the report.
func peakRSS(t *testing.T, in string) (int64, report.Report) {
	t.Helper()
	dir := t.TempDir()
	rssFile := filepath.Join(dir, "rss")
	cmd := mailsiftCmd(t, "--db", filepath.Join(dir, "none.db"), "analyze", in)
	cmd.Env = append(cmd.Env, "MAILSIFT_PEAK_RSS_FILE="+rssFile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	rs := reports(t, out.String())
	if len(rs) != 1 {
		t.Fatalf("%d reports", len(rs))
	}
	kb, err := os.ReadFile(rssFile)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(string(kb), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n >> 10, rs[0]
}

// mailWith wraps data as a base64 attachment.
func mailWith(name, ctype string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.org\nTo: b@example.org\nSubject: big\nMIME-Version: 1.0\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nsee attached\n--b\n")
	fmt.Fprintf(&b, "Content-Type: %s; name=%q\nContent-Transfer-Encoding: base64\n\n", ctype, name)
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n--b--\n")
	return b.Bytes()
}

// The whole process stays under 256 MiB with a 25 MB attachment and with a
// 42.zip-like bomb, and the bomb is reported as limits hit.
func TestAnalyzePeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 35 MB of mail; skipped with -short")
	}
	const limit = 256
	rss, rep := peakRSS(t, writeMail(t, func() []byte {
		big := make([]byte, 25<<20)
		x := uint32(1)
		for i := range big {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			big[i] = byte(x)
		}
		return mailWith("data.bin", "application/octet-stream", big)
	}))
	t.Logf("25 MB attachment: peak RSS %d MiB", rss)
	if rss >= limit {
		t.Errorf("peak RSS %d MiB with a 25 MB attachment, limit %d", rss, limit)
	}
	if len(rep.Attachments) != 1 || rep.Attachments[0].Size != 25<<20 || rep.Attachments[0].Hashes.TLSH == "" {
		t.Errorf("attachment facts: %+v", rep.Attachments)
	}

	bomb := writeMail(t, func() []byte { return mailWith("42.zip", "application/zip", attachtest.Bomb(t, 4, 64)) })
	start := time.Now()
	rss, rep = peakRSS(t, bomb)
	t.Logf("zip bomb: peak RSS %d MiB, %v", rss, time.Since(start).Round(time.Millisecond))
	if rss >= limit {
		t.Errorf("peak RSS %d MiB with a zip bomb, limit %d", rss, limit)
	}
	var defects int
	var walk func(a []report.Attachment)
	walk = func(as []report.Attachment) {
		for _, a := range as {
			defects += len(a.Defects)
			walk(a.Members)
		}
	}
	walk(rep.Attachments)
	if defects == 0 {
		t.Error("the bomb hit no limit")
	}
}
