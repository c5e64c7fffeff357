// Package server is mailsift's HTTP API: a translator from requests to
// the analysis engine and the spam filter, with no analysis of its own.
//
// A request's raw RFC 822 body is read within the size limit, waits for
// one of a bounded number of slots (so that a burst queues instead of
// exhausting memory), and goes to the engine (POST /v1/analyze, whose
// report also goes to the configured sinks), to the live filter (POST
// /v1/classify) or, with the bearer token, to training (POST
// /v1/train/{ham|spam}, /v1/untrain). GET /v1/stats describes the token
// database; /healthz, /readyz and /metrics serve operations. Every
// error is a JSON body {"error": {"code", "message"}}. The contract is
// openapi.yaml, served at /v1/openapi.yaml and checked against the
// handlers by the tests.
//
// Left out: authentication of the read endpoints (bind to loopback or
// put a proxy in front) and the milter, which is its own front end.
package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailsift/mailsift/internal/analyze"
	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/metrics"
	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/internal/tokendb"
	"github.com/mailsift/mailsift/report"
)

// OpenAPI is the API's description, served at /v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Deps are the parts the API translates to. Engine, Spam and Metrics may
// be nil: the endpoints that need them then answer 503.
type Deps struct {
	Engine *analyze.Engine
	Spam   *filter.Live
	// Doc makes the training document of a raw mail with the tokenizer
	// settings in force.
	Doc func(raw []byte) tokendb.Doc
	// Reports receives every report of /v1/analyze; nil keeps none.
	Reports sink.Sink
	Metrics *metrics.Registry
	Logger  *slog.Logger
}

// Server serves the API.
type Server struct {
	d        Deps
	cfg      atomic.Pointer[Config]
	token    atomic.Pointer[[32]byte] // SHA-256 of the bearer token; nil: training off
	cert     atomic.Pointer[tls.Certificate]
	slots    chan struct{}
	draining atomic.Bool
	http     *http.Server
	routes   []route
}

// route is one path of the API and its handlers by method.
type route struct {
	pattern string // http.ServeMux pattern, without a method
	name    string // for metrics
	methods map[string]http.HandlerFunc
}

// New returns a Server with cfg in force, reading its token and
// certificate files.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{d: d}
	if err := s.SetConfig(cfg); err != nil {
		return nil, err
	}
	n := cfg.MaxInFlight
	if n == 0 {
		n = 4 * runtime.GOMAXPROCS(0)
	}
	s.slots = make(chan struct{}, n)
	s.routes = []route{
		{"/v1/analyze", "analyze", map[string]http.HandlerFunc{http.MethodPost: s.analyze}},
		{"/v1/classify", "classify", map[string]http.HandlerFunc{http.MethodPost: s.classify}},
		{"/v1/train/{class}", "train", map[string]http.HandlerFunc{http.MethodPost: s.train}},
		{"/v1/untrain", "untrain", map[string]http.HandlerFunc{http.MethodPost: s.untrain}},
		{"/v1/stats", "stats", map[string]http.HandlerFunc{http.MethodGet: s.stats}},
		{"/v1/openapi.yaml", "openapi", map[string]http.HandlerFunc{http.MethodGet: s.openapi}},
		{"/healthz", "healthz", map[string]http.HandlerFunc{http.MethodGet: s.healthz}},
		{"/readyz", "readyz", map[string]http.HandlerFunc{http.MethodGet: s.readyz}},
		{"/metrics", "metrics", map[string]http.HandlerFunc{http.MethodGet: s.metrics}},
	}
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(d.Logger.Handler(), slog.LevelWarn),
	}
	if cfg.TLSCert != "" {
		s.http.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil }}
	}
	return s, nil
}

// SetConfig puts cfg in force for the requests that start after it,
// reading the token and certificate files again. On error nothing
// changes. The listen address and the server's timeouts stay as they
// were at New.
func (s *Server) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	var token *[32]byte
	if cfg.TokenFile != "" {
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return fmt.Errorf("server: token: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if line = strings.TrimSpace(line); len(line) < 16 {
			return fmt.Errorf("server: token: %s: want at least 16 characters on the first line", cfg.TokenFile)
		}
		sum := sha256.Sum256([]byte(line))
		token = &sum
	}
	var cert *tls.Certificate
	if cfg.TLSCert != "" {
		c, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("server: tls: %w", err)
		}
		cert = &c
	}
	s.cfg.Store(&cfg)
	s.token.Store(token)
	if cert != nil {
		s.cert.Store(cert)
	}
	return nil
}

// Handler is the API's handler, for tests and for mounting elsewhere.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.pattern, s.dispatch(rt))
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.URL.Path)
	}))
	return mux
}

// Serve answers on ln until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	var err error
	if s.http.TLSConfig != nil {
		err = s.http.ServeTLS(ln, "", "")
	} else {
		err = s.http.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown makes /readyz fail, stops accepting, and waits for the
// requests in flight until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	return s.http.Shutdown(ctx)
}

// dispatch picks the handler by method and records the request.
func (s *Server) dispatch(rt route) http.Handler {
	allow := make([]string, 0, len(rt.methods))
	for m := range rt.methods {
		allow = append(allow, m)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				s.d.Logger.Error("request failed", "route", rt.name, "panic", fmt.Sprint(p))
				s.d.Metrics.Error("http")
				if !rec.wrote {
					s.fail(rec, http.StatusInternalServerError, "internal", "internal error")
				}
			}
			s.d.Metrics.Request(rt.name, rec.code, time.Since(start))
		}()
		h, ok := rt.methods[r.Method]
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.fail(rec, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here")
			return
		}
		h(rec, r)
	})
}

// statusRecorder remembers the status code for the metrics.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusRecorder) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// apiError is the body of every error response.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *Server) fail(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	s.reply(w, status, e)
}

func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	buf := replyBuffers.Get().(*bytes.Buffer)
	defer putReplyBuffer(buf)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.d.Logger.Error("encode response", "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"response could not be encoded"}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		s.d.Logger.Debug("write response", "err", err)
	}
}

// replyBuffers holds the buffers that answers are encoded into: a classify
// answer would otherwise grow a new one five times over.
var replyBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 2<<10)) }}

// putReplyBuffer empties buf and returns it to the pool, unless an answer
// (an analysis report) made it too large to keep around.
func putReplyBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 64<<10 {
		return
	}
	buf.Reset()
	replyBuffers.Put(buf)
}

// readMail reads the request body within the size limit; on failure it
// has answered and returns nil.
func (s *Server) readMail(w http.ResponseWriter, r *http.Request) []byte {
	limit := s.cfg.Load().MaxBytes
	// A body of known length up to 64 KiB, most mail, is read into one
	// allocation; beyond that memory grows only as the bytes arrive, so
	// a request that claims a large body and sends none costs little.
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 {
		buf.Grow(int(min(n, 64<<10)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	raw := buf.Bytes()
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.fail(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the mail is larger than %d bytes", limit))
		return nil
	case err != nil:
		s.fail(w, http.StatusBadRequest, "bad_request", "reading the body: "+err.Error())
		return nil
	case len(raw) == 0:
		s.fail(w, http.StatusBadRequest, "bad_request", "the body is empty: send the raw mail")
		return nil
	}
	return raw
}

// admit reads the mail of a request and takes a processing slot, waiting
// for one until the request's deadline, which it returns. On failure it
// has answered and returns nil; otherwise release must be called when the
// mail is processed. A free slot is taken without a timer: most requests
// find one.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (raw []byte, deadline time.Time, release func()) {
	if raw = s.readMail(w, r); raw == nil {
		return nil, time.Time{}, nil
	}
	deadline = time.Now().Add(s.cfg.Load().RequestTimeout)
	select {
	case s.slots <- struct{}{}:
		return raw, deadline, s.releaseSlot
	default:
	}
	wait := time.NewTimer(time.Until(deadline))
	defer wait.Stop()
	select {
	case s.slots <- struct{}{}:
		return raw, deadline, s.releaseSlot
	case <-wait.C:
	case <-r.Context().Done():
	}
	s.fail(w, http.StatusServiceUnavailable, "busy", "every slot stayed busy until the request's deadline")
	return nil, time.Time{}, nil
}

func (s *Server) releaseSlot() { <-s.slots }

func (s *Server) analyze(w http.ResponseWriter, r *http.Request) {
	if s.d.Engine == nil {
		s.fail(w, http.StatusServiceUnavailable, "unavailable", "the analysis engine is off")
		return
	}
	raw, deadline, release := s.admit(w, r)
	if raw == nil {
		return
	}
	defer release()
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	origin := r.URL.Query().Get("origin")
	if origin == "" {
		origin = "http"
	}
	rep, err := s.d.Engine.Analyze(ctx, raw, origin)
	if err != nil {
		s.d.Metrics.Error("analyze")
		s.fail(w, http.StatusGatewayTimeout, "timeout", "the analysis did not finish in time")
		return
	}
	s.d.Metrics.Mail("http")
	s.countVerdicts(rep)
	if s.d.Reports != nil {
		if err := s.d.Reports.Write(ctx, rep); err != nil {
			s.d.Metrics.Error("sink")
			s.d.Logger.Warn("report not queued", "id", rep.ID, "err", err)
			s.fail(w, http.StatusServiceUnavailable, "sink_full", "the report could not be queued for the sinks: "+err.Error())
			return
		}
	}
	s.reply(w, http.StatusOK, rep)
}

func (s *Server) countVerdicts(rep *report.Report) {
	if rep.Spam != nil {
		s.d.Metrics.Verdict("http", "spam", rep.Spam.Verdict)
	}
	if rep.Phishing != nil {
		s.d.Metrics.Verdict("http", "phishing", map[bool]string{true: "yes", false: "no"}[rep.Phishing.Verdict])
	}
}

// Classification is the body of a /v1/classify answer.
type Classification struct {
	Classifier  string       `json:"classifier"`
	Verdict     string       `json:"verdict"`
	Score       float64      `json:"score"`
	Words       []bayes.Word `json:"words"`
	Reason      string       `json:"reason,omitempty"`
	Header      string       `json:"header"`
	Attachments string       `json:"attachments,omitempty"`
}

func (s *Server) classify(w http.ResponseWriter, r *http.Request) {
	if s.d.Spam == nil || !s.d.Spam.Ready() {
		s.fail(w, http.StatusServiceUnavailable, "no_database", "there is no token database yet: train one first")
		return
	}
	raw, _, release := s.admit(w, r)
	if raw == nil {
		return
	}
	defer release()
	v, err := s.d.Spam.Classify(raw)
	if err != nil {
		s.d.Metrics.Error("classify")
		s.fail(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	s.d.Metrics.Mail("http-classify")
	s.d.Metrics.Verdict("http", "spam", string(v.Verdict))
	words := v.Words
	if words == nil {
		words = []bayes.Word{}
	}
	s.reply(w, http.StatusOK, Classification{Classifier: s.d.Spam.Name(), Verdict: string(v.Verdict), Score: v.Score,
		Words: words, Reason: v.Reason, Header: filter.SpamHeader(v.Result, nil), Attachments: v.Attachments})
}

// Training is the body of a training answer: the outcome for the mail
// ("learned", "moved", "known", "unlearned" or "unknown").
type Training struct {
	Result string `json:"result"`
}

// authorized checks the bearer token; on failure it has answered.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	want := s.token.Load()
	if want == nil {
		s.fail(w, http.StatusForbidden, "training_off", "training over HTTP is off: set serve.http.token_file")
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mailsift"`)
		s.fail(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
		return false
	}
	return true
}

func (s *Server) train(w http.ResponseWriter, r *http.Request) {
	var class tokendb.Class
	switch r.PathValue("class") {
	case "ham":
		class = tokendb.Ham
	case "spam":
		class = tokendb.Spam
	default:
		s.fail(w, http.StatusNotFound, "not_found", "train ham or spam: /v1/train/ham, /v1/train/spam")
		return
	}
	s.learn(w, r, func(d tokendb.Doc) (tokendb.Result, error) { return s.d.Spam.Train(class, []tokendb.Doc{d}) })
}

func (s *Server) untrain(w http.ResponseWriter, r *http.Request) {
	s.learn(w, r, func(d tokendb.Doc) (tokendb.Result, error) { return s.d.Spam.Untrain([]tokendb.Doc{d}) })
}

func (s *Server) learn(w http.ResponseWriter, r *http.Request, apply func(tokendb.Doc) (tokendb.Result, error)) {
	if !s.authorized(w, r) {
		return
	}
	if s.d.Spam == nil || s.d.Doc == nil {
		s.fail(w, http.StatusServiceUnavailable, "unavailable", "the spam filter is off")
		return
	}
	raw, _, release := s.admit(w, r)
	if raw == nil {
		return
	}
	defer release()
	res, err := apply(s.d.Doc(raw))
	if errors.Is(err, tokendb.ErrNotExist) {
		s.fail(w, http.StatusNotFound, "no_database", "there is no token database to untrain from")
		return
	}
	if err != nil {
		s.d.Metrics.Error("train")
		s.d.Logger.Error("training failed", "err", err)
		status, code := http.StatusInternalServerError, "internal"
		if errors.Is(err, tokendb.ErrLocked) {
			status, code = http.StatusServiceUnavailable, "locked"
		}
		s.fail(w, status, code, err.Error())
		return
	}
	out := "known"
	switch {
	case res.Learned > 0:
		out = "learned"
	case res.Moved > 0:
		out = "moved"
	case res.Unlearned > 0:
		out = "unlearned"
	case r.URL.Path == "/v1/untrain":
		out = "unknown"
	}
	s.reply(w, http.StatusOK, Training{Result: out})
}

// Stats is the body of a /v1/stats answer.
type Stats struct {
	Classifier   string `json:"classifier"`
	Database     string `json:"database"`
	HamMessages  uint32 `json:"ham_messages"`
	SpamMessages uint32 `json:"spam_messages"`
	Words        int    `json:"words"`
	Features     int    `json:"features"`
	FileSize     int64  `json:"file_size"`
	Generation   uint64 `json:"generation"`
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	if s.d.Spam == nil {
		s.fail(w, http.StatusServiceUnavailable, "unavailable", "the spam filter is off")
		return
	}
	st, err := s.d.Spam.Stats()
	if errors.Is(err, tokendb.ErrNotExist) {
		s.fail(w, http.StatusServiceUnavailable, "no_database", "there is no token database yet: train one first")
		return
	}
	if err != nil {
		s.d.Metrics.Error("stats")
		s.fail(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	totals := st.FeatureTotals
	if s.d.Spam.Name() == filter.SpamOracle {
		totals = st.Totals
	}
	s.reply(w, http.StatusOK, Stats{Classifier: s.d.Spam.Name(), Database: s.d.Spam.Path(),
		HamMessages: totals.Good, SpamMessages: totals.Spam, Words: st.Words, Features: st.Features,
		FileSize: st.FileSize, Generation: st.Generation})
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	if _, err := w.Write(OpenAPI); err != nil {
		s.d.Logger.Debug("write response", "err", err)
	}
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.reply(w, http.StatusOK, Health{Status: "ok"})
}

// readyz is ready while the server is not shutting down. The checks also
// say whether the spam filter has a database to score with: without one
// /v1/classify answers 503, but analysis goes on.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "ok", Checks: map[string]string{}}
	if s.draining.Load() {
		h.Status, h.Checks["server"] = "unavailable", "shutting down"
	} else {
		h.Checks["server"] = "ok"
	}
	if s.d.Spam != nil {
		if s.d.Spam.Ready() {
			h.Checks["database"] = "ok"
		} else {
			h.Checks["database"] = "no token database yet"
		}
	}
	if s.d.Engine != nil {
		h.Checks["analysis"] = "ok"
	}
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	s.reply(w, status, h)
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.d.Metrics == nil {
		s.fail(w, http.StatusServiceUnavailable, "unavailable", "metrics are off")
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.d.Metrics.WritePrometheus(w)
}
