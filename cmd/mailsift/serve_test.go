package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailsift/mailsift/internal/config"
	"github.com/mailsift/mailsift/internal/metrics"
)

// freeAddr returns a loopback address no one listens on just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// syncBuffer is a log that the test reads while the service writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func post(t *testing.T, url, token string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestServe runs the service as its own process: it answers, writes the
// reports to its sink, reloads its configuration on SIGHUP (refusing a
// broken one), and on SIGTERM finishes and flushes before it exits 0.
func TestServe(t *testing.T) {
	db := trained(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	reports := filepath.Join(dir, "reports.jsonl")
	token := "service-token-0123456789"
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	writeCfg := func(maxBytes int) {
		t.Helper()
		cfg := fmt.Sprintf(`min_trained: 2
analysis:
  seen:
    dir: ""
serve:
  http:
    listen: %s
    token_file: %s
    max_bytes: %d
  milter:
    listen: ""
  sinks: ["jsonl:%s"]
  queue:
    flush_interval: 10ms
  log_format: json
  reload_interval: 1h
`, addr, filepath.Join(dir, "token"), maxBytes, reports)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg(1 << 20)

	cmd := mailsiftCmd(t, "--config", cfgPath, "--db", db, "serve")
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	base := "http://" + addr
	waitFor(t, "the service to listen", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})

	spam := []byte(readFile(t, fixtures+"msg1.eml"))
	if code, body := post(t, base+"/v1/classify", "", spam); code != 200 || !strings.Contains(body, `"verdict":"yes"`) {
		t.Fatalf("classify: %d %s", code, body)
	}
	if code, body := post(t, base+"/v1/analyze", "", spam); code != 200 || !strings.Contains(body, `"spam":{`) {
		t.Fatalf("analyze: %d %.300s", code, body)
	}
	if code, body := post(t, base+"/v1/train/ham", token, spam); code != 200 || !strings.Contains(body, "learned") {
		t.Fatalf("train: %d %s", code, body)
	}

	// A smaller size limit, put in force by SIGHUP.
	writeCfg(100)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", func() bool { return strings.Contains(logs.String(), "configuration reloaded") })
	if code, body := post(t, base+"/v1/analyze", "", spam); code != 413 || !strings.Contains(body, "too_large") {
		t.Fatalf("after reload: %d %s", code, body)
	}
	// A broken file is refused and the one in force stays.
	if err := os.WriteFile(cfgPath, []byte("serve:\n  http:\n    max_bytes: -3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refusal", func() bool { return strings.Contains(logs.String(), "configuration refused") })
	if code, _ := post(t, base+"/v1/analyze", "", spam); code != 413 {
		t.Fatalf("after a refused reload: %d, want the old limit's 413", code)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the service did not stop\n%s", logs.String())
	}
	f, err := os.Open(reports)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
	}
	if n != 1 {
		t.Errorf("the sink holds %d reports, want the 1 analysed", n)
	}
	for _, want := range []string{`"msg":"HTTP API listening"`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}

func TestServeRefusesBadStart(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--http", "", "--milter", ""}, "nothing to serve"},
		{[]string{"serve", "--http", "nonsense"}, "want host:port"},
		{[]string{"serve", "--out", "ftp:x"}, "unknown destination"},
		{[]string{"serve", "somefile"}, "takes no files"},
	} {
		r := mailsift(t, "", append([]string{"--db", filepath.Join(t.TempDir(), "t.db")}, tc.args...)...)
		if r.code != exitError || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v: %d %q, want one line with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestConfigCommand(t *testing.T) {
	r := mailsift(t, "", "config", "doc")
	if r.code != 0 || r.stdout != string(config.Reference) {
		t.Fatalf("config doc: %d, %d bytes", r.code, len(r.stdout))
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	if err := os.WriteFile(good, config.Reference, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("serve:\n  http:\n    listen: nowhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := mailsift(t, "", "config", "check", good); r.code != 0 || !strings.Contains(r.stdout, "ok") {
		t.Fatalf("check of the reference: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = mailsift(t, "", "config", "check", bad)
	if r.code != exitError || !strings.Contains(r.stderr, "serve.http: listen") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Fatalf("check of a bad file: %d %q", r.code, r.stderr)
	}
	// --config names the file to check, even a broken one.
	if r := mailsift(t, "", "--config", bad, "config", "check"); r.code != exitError {
		t.Fatalf("check via --config: %d", r.code)
	}
	// The configuration the container ships with is valid.
	if r := mailsift(t, "", "config", "check", "../../deploy/docker-config.yml"); r.code != 0 {
		t.Fatalf("deploy/docker-config.yml: %s", r.stderr)
	}
	if r := mailsift(t, "", "config", "frobnicate"); r.code != exitError {
		t.Fatalf("unknown subcommand: %d", r.code)
	}
}

// The milter's scanner in the service runs the whole analysis: the
// verdicts go to the milter and the report to the sinks.
func TestAnalysisScanner(t *testing.T) {
	db := trained(t)
	cfg := config.Default()
	cfg.MinTrained = 2
	cfg.Analysis.Seen.Dir = ""
	cfg.Serve.HTTP.Listen, cfg.Serve.Milter.Listen = "", ""
	reports := filepath.Join(t.TempDir(), "r.jsonl")
	cfg.Serve.Sinks = []string{"jsonl:" + reports}
	var logs syncBuffer
	s := &service{e: env{cfg: cfg, db: db, stderr: &logs}, log: newLogger(&logs, "text", new(slog.LevelVar)), reg: metrics.New()}
	s.cfg.Store(&cfg)
	if err := s.start(cfg); err != nil {
		t.Fatal(err)
	}
	v, err := (&analysisScanner{s: s}).Scan(context.Background(), []byte(readFile(t, fixtures+"msg1.eml")))
	if err != nil {
		t.Fatal(err)
	}
	if v.Class != "yes" || !strings.HasPrefix(v.SpamHeader, "yes; ") || !strings.Contains(v.Attachments, "song.wav") || !v.PhishingChecked {
		t.Errorf("verdict %+v", v)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(readFile(t, reports), "\n"); got != 1 {
		t.Errorf("%d reports in the sink, want 1", got)
	}
}
