package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mailsift/mailsift/internal/analyze"
	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/metrics"
	"github.com/mailsift/mailsift/internal/tokendb"
	"github.com/mailsift/mailsift/internal/tokenize"
	"github.com/mailsift/mailsift/report"
)

const testToken = "0123456789abcdef-test-token"

// fixture is a server over a database trained on testdata/corpus.
type fixture struct {
	srv     *Server
	url     string
	live    *filter.Live
	reports *collect
	spam    []byte // a spam mail of the corpus
	ham     []byte
}

// collect is a Sink that keeps the reports.
type collect struct{ got []*report.Report }

func (c *collect) Write(_ context.Context, r *report.Report) error {
	c.got = append(c.got, r)
	return nil
}
func (c *collect) Close() error { return nil }

func readCorpus(t *testing.T, name string) [][]byte {
	t.Helper()
	r := mailbox.Open([]string{filepath.Join("..", "..", "testdata", "corpus", name)}, nil)
	defer r.Close()
	var out [][]byte
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Raw)
	}
}

func newFixture(t *testing.T, cfg Config, trained bool) *fixture {
	t.Helper()
	dir := t.TempDir()
	tok := tokenize.DefaultOptions()
	doc := func(raw []byte) tokendb.Doc { return filter.TrainingDoc(raw, tok, "X-Spam", "X-Attachments") }
	fused := filter.DefaultFused()
	fused.MinTrain = 1
	live := filter.NewLive(filepath.Join(dir, "tokens.db"),
		filter.Filter{Params: bayes.DefaultParams(), Fused: fused, Tokens: tok}, time.Second)
	hams, spams := readCorpus(t, "ham.mbox"), readCorpus(t, "spam.mbox")
	if trained {
		var b tokendb.Batch
		for _, raw := range hams {
			b.Ham = append(b.Ham, doc(raw))
		}
		for _, raw := range spams {
			b.Spam = append(b.Spam, doc(raw))
		}
		db, err := tokendb.Open(live.Path(), tokendb.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Apply(b); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := live.Refresh(); err != nil {
			t.Fatal(err)
		}
	}
	acfg := analyze.DefaultConfig()
	acfg.Seen.Dir = ""
	eng, err := analyze.New(acfg, analyze.Options{Spam: live, PDFCacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg.TokenFile == "" {
		cfg.TokenFile = tokenFile
	}
	reports := &collect{}
	srv, err := New(cfg, Deps{Engine: eng, Spam: live, Doc: doc, Reports: reports, Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &fixture{srv: srv, url: ts.URL, live: live, reports: reports, spam: spams[0], ham: hams[0]}
}

type exchange struct {
	method, path string
	auth         string
	body         []byte
	status       int
	code         string // error code expected, if any
	// check looks at the decoded body.
	check func(t *testing.T, body map[string]any)
}

func (f *fixture) do(t *testing.T, x exchange) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(x.method, f.url+x.path, bytes.NewReader(x.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "message/rfc822")
	if x.auth != "" {
		req.Header.Set("Authorization", x.auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestAPIAgainstOpenAPI drives every endpoint and checks each answer's
// status, content type and body against openapi.yaml.
func TestAPIAgainstOpenAPI(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxBytes = 64 << 10
	f := newFixture(t, cfg, true)
	spec := loadSpec(t)
	bearer := "Bearer " + testToken
	big := bytes.Repeat([]byte("x"), 65<<10)
	exchanges := []exchange{
		{method: "POST", path: "/v1/analyze", body: f.spam, status: 200, check: func(t *testing.T, b map[string]any) {
			spam, _ := b["spam"].(map[string]any)
			if spam == nil || spam["verdict"] != "yes" {
				t.Errorf("spam section %v, want verdict yes", b["spam"])
			}
		}},
		{method: "POST", path: "/v1/analyze?origin=unit", body: f.ham, status: 200, check: func(t *testing.T, b map[string]any) {
			if b["origin"] != "unit" {
				t.Errorf("origin %v", b["origin"])
			}
		}},
		{method: "POST", path: "/v1/analyze", body: nil, status: 400, code: "bad_request"},
		{method: "POST", path: "/v1/analyze", body: big, status: 413, code: "too_large"},
		{method: "GET", path: "/v1/analyze", status: 405, code: "method_not_allowed"},
		{method: "POST", path: "/v1/classify", body: f.spam, status: 200, check: func(t *testing.T, b map[string]any) {
			if b["verdict"] != "yes" || !strings.HasPrefix(b["header"].(string), "yes; ") {
				t.Errorf("classify spam: %v", b)
			}
		}},
		{method: "POST", path: "/v1/classify", body: f.ham, status: 200, check: func(t *testing.T, b map[string]any) {
			if b["verdict"] != "no" {
				t.Errorf("classify ham: %v", b)
			}
		}},
		{method: "POST", path: "/v1/classify", body: big, status: 413, code: "too_large"},
		{method: "POST", path: "/v1/train/spam", body: f.spam, status: 401, code: "unauthorized"},
		{method: "POST", path: "/v1/train/spam", auth: "Bearer wrong-token-wrong-token", body: f.spam, status: 401, code: "unauthorized"},
		{method: "POST", path: "/v1/train/spam", auth: bearer, body: f.spam, status: 200, check: wantResult("known")},
		{method: "POST", path: "/v1/train/ham", auth: bearer, body: f.spam, status: 200, check: wantResult("moved")},
		{method: "POST", path: "/v1/train/eggs", auth: bearer, body: f.spam, status: 404, code: "not_found"},
		{method: "POST", path: "/v1/untrain", auth: bearer, body: f.spam, status: 200, check: wantResult("unlearned")},
		{method: "POST", path: "/v1/untrain", auth: bearer, body: f.spam, status: 200, check: wantResult("unknown")},
		{method: "POST", path: "/v1/train/spam", auth: bearer, body: f.spam, status: 200, check: wantResult("learned")},
		{method: "POST", path: "/v1/untrain", body: f.spam, status: 401, code: "unauthorized"},
		{method: "GET", path: "/v1/stats", status: 200, check: func(t *testing.T, b map[string]any) {
			if b["ham_messages"].(float64) < 1 || b["spam_messages"].(float64) < 1 {
				t.Errorf("stats %v", b)
			}
		}},
		{method: "GET", path: "/v1/openapi.yaml", status: 200},
		{method: "GET", path: "/healthz", status: 200},
		{method: "GET", path: "/readyz", status: 200},
		{method: "GET", path: "/metrics", status: 200},
		{method: "GET", path: "/v2/nothing", status: 404, code: "not_found"},
	}
	covered := map[string]bool{}
	for _, x := range exchanges {
		t.Run(x.method+" "+x.path, func(t *testing.T) {
			resp, body := f.do(t, x)
			if resp.StatusCode != x.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, x.status, body)
			}
			op, tmpl := spec.operation(x.method, strings.SplitN(x.path, "?", 2)[0])
			if x.status == 404 && op == nil || x.status == 405 {
				checkError(t, spec, resp, body, x.code)
				return
			}
			if op == nil {
				t.Fatalf("%s %s is not in openapi.yaml", x.method, x.path)
			}
			covered[x.method+" "+tmpl] = true
			media, schema := op.response(t, x.status)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, media) {
				t.Fatalf("content type %q, documented %q", ct, media)
			}
			if media != "application/json" {
				return
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, body)
			}
			if err := spec.validate(schema, v, "$"); err != nil {
				t.Fatalf("body does not match openapi.yaml: %v\n%s", err, body)
			}
			if x.code != "" {
				if got := v.(map[string]any)["error"].(map[string]any)["code"]; got != x.code {
					t.Fatalf("error code %v, want %s", got, x.code)
				}
			}
			if x.check != nil {
				x.check(t, v.(map[string]any))
			}
		})
	}
	// Every documented operation was exercised, and every route is
	// documented.
	for _, rt := range f.srv.routes {
		for m := range rt.methods {
			key := m + " " + rt.pattern
			if !covered[key] {
				t.Errorf("route %s is not exercised against openapi.yaml", key)
			}
		}
	}
	for path, item := range spec.Paths {
		for m := range item {
			if !covered[strings.ToUpper(m)+" "+path] {
				t.Errorf("openapi.yaml documents %s %s, which no test reached", strings.ToUpper(m), path)
			}
		}
	}
	if len(f.reports.got) != 2 {
		t.Errorf("the sink got %d reports, want the 2 analysed", len(f.reports.got))
	}
}

func wantResult(want string) func(*testing.T, map[string]any) {
	return func(t *testing.T, b map[string]any) {
		if b["result"] != want {
			t.Errorf("result %v, want %s", b["result"], want)
		}
	}
}

func checkError(t *testing.T, spec *openAPI, resp *http.Response, body []byte, code string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("error body is not JSON: %s", body)
	}
	if err := spec.validate(map[string]any{"$ref": "#/components/schemas/Error"}, v, "$"); err != nil {
		t.Fatalf("error body: %v", err)
	}
	if got := v.(map[string]any)["error"].(map[string]any)["code"]; got != code {
		t.Fatalf("error code %v, want %s", got, code)
	}
	if resp.StatusCode == 405 && resp.Header.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
}

func TestTrainingOff(t *testing.T) {
	f := newFixture(t, DefaultConfig(), true)
	cfg := DefaultConfig()
	cfg.TokenFile = ""
	if err := f.srv.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	resp, body := f.do(t, exchange{method: "POST", path: "/v1/train/ham", auth: "Bearer " + testToken, body: f.ham})
	if resp.StatusCode != 403 || !strings.Contains(string(body), "training_off") {
		t.Fatalf("got %d %s, want 403 training_off", resp.StatusCode, body)
	}
}

func TestBadConfigKeepsOld(t *testing.T) {
	f := newFixture(t, DefaultConfig(), true)
	cfg := DefaultConfig()
	cfg.TokenFile = filepath.Join(t.TempDir(), "missing")
	if err := f.srv.SetConfig(cfg); err == nil {
		t.Fatal("a missing token file was accepted")
	}
	resp, _ := f.do(t, exchange{method: "POST", path: "/v1/train/ham", auth: "Bearer " + testToken, body: f.ham})
	if resp.StatusCode != 200 {
		t.Fatalf("the old token stopped working: %d", resp.StatusCode)
	}
}

func TestNoDatabase(t *testing.T) {
	f := newFixture(t, DefaultConfig(), false)
	resp, body := f.do(t, exchange{method: "POST", path: "/v1/classify", body: f.spam})
	if resp.StatusCode != 503 || !strings.Contains(string(body), "no_database") {
		t.Fatalf("classify without database: %d %s", resp.StatusCode, body)
	}
	// Analysis goes on without a spam verdict, and training creates the
	// database, which the next refresh reads.
	resp, body = f.do(t, exchange{method: "POST", path: "/v1/analyze", body: f.spam})
	if resp.StatusCode != 200 || strings.Contains(string(body), `"spam":`) {
		t.Fatalf("analyze without database: %d %.200s", resp.StatusCode, body)
	}
	resp, _ = f.do(t, exchange{method: "POST", path: "/v1/train/spam", auth: "Bearer " + testToken, body: f.spam})
	if resp.StatusCode != 200 {
		t.Fatalf("train: %d", resp.StatusCode)
	}
	if changed, err := f.live.Refresh(); err != nil || !changed {
		t.Fatalf("refresh: %v %v", changed, err)
	}
	resp, body = f.do(t, exchange{method: "POST", path: "/v1/classify", body: f.spam})
	if resp.StatusCode != 200 {
		t.Fatalf("classify after training: %d %s", resp.StatusCode, body)
	}
}

func TestBusyAndDraining(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxInFlight = 1
	cfg.RequestTimeout = 20 * time.Millisecond
	f := newFixture(t, cfg, true)
	f.srv.slots <- struct{}{} // every slot taken
	resp, body := f.do(t, exchange{method: "POST", path: "/v1/classify", body: f.ham})
	<-f.srv.slots
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"busy"`) {
		t.Fatalf("with no free slot: %d %s", resp.StatusCode, body)
	}
	f.srv.draining.Store(true)
	resp, body = f.do(t, exchange{method: "GET", path: "/readyz"})
	if resp.StatusCode != 503 || !strings.Contains(string(body), "shutting down") {
		t.Fatalf("readyz while draining: %d %s", resp.StatusCode, body)
	}
}

func TestMetricsCount(t *testing.T) {
	f := newFixture(t, DefaultConfig(), true)
	for range 3 {
		f.do(t, exchange{method: "POST", path: "/v1/classify", body: f.spam})
	}
	f.do(t, exchange{method: "POST", path: "/v1/analyze", body: f.ham})
	_, body := f.do(t, exchange{method: "GET", path: "/metrics"})
	for _, want := range []string{
		`mailsift_http_requests_total{route="classify",code="200"} 3`,
		`mailsift_verdicts_total{front="http",kind="spam",verdict="yes"} 3`,
		`mailsift_mails_total{front="http"} 1`,
		`mailsift_http_request_seconds_count{route="analyze"} 1`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// openAPI is the part of an OpenAPI 3.1 document the tests read.
type openAPI struct {
	Paths      map[string]map[string]*operation `yaml:"paths"`
	Components struct {
		Schemas   map[string]any `yaml:"schemas"`
		Responses map[string]any `yaml:"responses"`
	} `yaml:"components"`
}

type operation struct {
	Responses map[string]map[string]any `yaml:"responses"`
	spec      *openAPI
}

func loadSpec(t *testing.T) *openAPI {
	t.Helper()
	var s openAPI
	if err := yaml.Unmarshal(OpenAPI, &s); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	for _, item := range s.Paths {
		for _, op := range item {
			op.spec = &s
		}
	}
	return &s
}

// operation finds the documented operation for a concrete path.
func (s *openAPI) operation(method, path string) (*operation, string) {
	for tmpl, item := range s.Paths {
		re := "^" + regexp.MustCompile(`\\\{[a-z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$"
		if regexp.MustCompile(re).MatchString(path) {
			if op := item[strings.ToLower(method)]; op != nil {
				return op, tmpl
			}
		}
	}
	return nil, ""
}

// response returns the media type and schema documented for status.
func (op *operation) response(t *testing.T, status int) (string, any) {
	t.Helper()
	r := op.Responses[fmt.Sprint(status)]
	if r == nil {
		t.Fatalf("status %d is not documented", status)
	}
	if ref, ok := r["$ref"].(string); ok {
		r = op.spec.Components.Responses[strings.TrimPrefix(ref, "#/components/responses/")].(map[string]any)
	}
	for media, c := range r["content"].(map[string]any) {
		return media, c.(map[string]any)["schema"]
	}
	t.Fatalf("status %d has no content", status)
	return "", nil
}

// validate checks v against the subset of JSON Schema the document uses.
func (s *openAPI) validate(schema any, v any, at string) error {
	sc, _ := schema.(map[string]any)
	if ref, ok := sc["$ref"].(string); ok {
		return s.validate(s.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")], v, at)
	}
	if enum, ok := sc["enum"].([]any); ok && !slices.Contains(enum, v) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	switch sc["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object", at)
		}
		props, _ := sc["properties"].(map[string]any)
		for _, req := range asList(sc["required"]) {
			if _, ok := obj[req.(string)]; !ok {
				return fmt.Errorf("%s: %s is missing", at, req)
			}
		}
		for k, val := range obj {
			p, ok := props[k]
			if !ok {
				switch ap := sc["additionalProperties"].(type) {
				case bool:
					if !ap {
						return fmt.Errorf("%s: %s is not documented", at, k)
					}
					continue
				case map[string]any:
					p = ap
				default:
					continue
				}
			}
			if err := s.validate(p, val, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: not an array", at)
		}
		for i, e := range arr {
			if err := s.validate(sc["items"], e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: not a string", at)
		}
	case "integer", "number":
		n, ok := v.(float64)
		if !ok || sc["type"] == "integer" && n != float64(int64(n)) {
			return fmt.Errorf("%s: %v is not an %s", at, v, sc["type"])
		}
		if lo, ok := sc["minimum"].(int); ok && n < float64(lo) {
			return fmt.Errorf("%s: %v below %d", at, n, lo)
		}
		if hi, ok := sc["maximum"].(int); ok && n > float64(hi) {
			return fmt.Errorf("%s: %v above %d", at, n, hi)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: not a boolean", at)
		}
	}
	return nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
