package sink

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mailsift/mailsift/report"
)

// ElasticForm is the destination form OpenElastic takes, for error and
// help texts.
const ElasticForm = `"es+http[s]://[USER:PASSWORD@]HOST[:PORT][/PATH]` +
	`[?prefix=NAME&templates=false&api_key_file=PATH&ca_file=PATH&timeout=DURATION]"`

// defaultElasticTimeout bounds one HTTP request when the spec names no
// timeout: a _bulk request of a full batch with attachment text can take
// seconds on a busy cluster.
const defaultElasticTimeout = 30 * time.Second

// OpenElastic returns a Sink that indexes reports into Elasticsearch 8
// or OpenSearch 2 over HTTP, with the _bulk API, in the documents and
// daily indices of ElasticDocs. A Queue does the batching, back-pressure
// and retries, with the options o; spec names the server:
//
//	es+http://[USER:PASSWORD@]HOST[:PORT][/PATH][?OPTIONS]
//	es+https://[USER:PASSWORD@]HOST[:PORT][/PATH][?OPTIONS]
//
// The port defaults to 80 or 443 as in any URL (Elasticsearch listens on
// 9200); PATH is kept in front of the API paths, for a server behind a
// reverse proxy. USER and PASSWORD are sent with basic authentication.
// OPTIONS are joined by "&":
//
//	prefix=NAME        the index names' prefix (default mailsift)
//	templates=false    do not install the index templates
//	api_key_file=PATH  send "Authorization: ApiKey KEY", KEY being the
//	                   file's content without surrounding space: the
//	                   "encoded" value of Elasticsearch's create API key
//	                   answer; not together with USER:PASSWORD
//	ca_file=PATH       trust the PEM certificates in PATH as well as the
//	                   system's (es+https only)
//	timeout=DURATION   how long one request may take (default 30s)
//
// Unless templates=false, the index templates of IndexTemplates are
// installed first (PUT _index_template/NAME), renamed for the prefix;
// this replaces templates of the same names. When the server cannot be
// reached (OpenElastic waits at most the timeout), is overloaded or
// fails (429 or 5xx), OpenElastic does not fail: it tells o.OnError, and
// the templates are installed before the first batch instead, the batch
// waiting and being tried again until they are. Any other answer to a
// template fails the open.
//
// Each batch is one POST _bulk request, and each of its reports is
// stored, tried again or refused. The whole batch is tried again when
// the request fails in a way that may pass: no answer, an answer that is
// not a _bulk answer, or any failure status but 400 and 413 (429 and
// 5xx, but also 401 and 403, which the operator may fix on the server,
// and 404 from a wrong PATH). A report is tried again, whole, when any of
// its documents got 429 or 5xx; re-indexing its documents under the same
// _id replaces them. A report is refused for good when the request got
// 400 or 413, or when one of its documents got any other failure status,
// such as a mapping error; its other documents may have been stored. A
// report without an id leaves the document ids to the server, so a
// retry may index such a report twice.
func OpenElastic(spec string, o QueueOptions) (*Queue[bulkItem], error) {
	if err := o.Check(); err != nil {
		return nil, fmt.Errorf("sink: elasticsearch: %w", err)
	}
	e, err := newElasticHTTP(spec)
	if err != nil {
		return nil, err
	}
	if err := e.installTemplates(context.Background()); err != nil {
		if !transient(err) {
			e.client.CloseIdleConnections()
			return nil, fmt.Errorf("sink: elasticsearch: %w; templates=false skips installing them", err)
		}
		if o.OnError != nil {
			o.OnError(fmt.Errorf("sink: elasticsearch: %w; trying again before the first batch", err))
		}
	}
	return NewQueue[bulkItem]("elasticsearch", e, o), nil
}

// bulkItem is one report as a _bulk request carries it: its action and
// document lines, and how many actions they hold.
type bulkItem struct {
	id      string // the report's id, for errors
	lines   []byte
	actions int
}

// elasticHTTP is the Batcher that speaks the _bulk API. Send and
// installTemplates run on one goroutine at a time (OpenElastic's, then
// the Queue's), so pending needs no lock.
type elasticHTTP struct {
	base   *url.URL // scheme, host and path prefix, without credentials
	client *http.Client
	auth   string // the Authorization header, or ""
	prefix string

	templates map[string][]byte
	pending   []string // names of the templates not installed yet, in order
}

var _ Batcher[bulkItem] = (*elasticHTTP)(nil)

// CheckElastic reports whether OpenElastic could take spec, without
// connecting: the URL, the options and the files they name are checked.
func CheckElastic(spec string) error {
	e, err := newElasticHTTP(spec)
	if err != nil {
		return err
	}
	return e.Close()
}

// newElasticHTTP reads spec and the files it names; it does not connect.
func newElasticHTTP(spec string) (*elasticHTTP, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("sink: elasticsearch: %s", fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(spec)
	if err != nil {
		// url.Error repeats the spec, password included: keep the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fail("bad URL: %v; want %s", err, ElasticForm)
	}
	var scheme string
	switch u.Scheme {
	case "es+http":
		scheme = "http"
	case "es+https":
		scheme = "https"
	default:
		return nil, fail("scheme %q: want es+http or es+https, as in %s", u.Scheme, ElasticForm)
	}
	switch {
	case u.Opaque != "" || u.Host == "":
		return nil, fail("no host; want %s", ElasticForm)
	case u.Fragment != "":
		return nil, fail("unexpected #%s", u.Fragment)
	}
	e := &elasticHTTP{
		base:   &url.URL{Scheme: scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/")},
		prefix: DefaultPrefix,
	}
	if u.User != nil {
		pass, ok := u.User.Password()
		if u.User.Username() == "" || !ok {
			return nil, fail("credentials need both user and password, as USER:PASSWORD@")
		}
		e.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))
	}
	values, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fail("bad options: %v", err)
	}
	install := true
	timeout := defaultElasticTimeout
	var caFile string
	for _, name := range sortedKeys(values) {
		vs := values[name]
		if len(vs) > 1 {
			return nil, fail("option %s given %d times", name, len(vs))
		}
		v := vs[0]
		switch name {
		case "prefix":
			if err := CheckIndexPrefix(v); err != nil {
				return nil, fail("%v", strings.TrimPrefix(err.Error(), "sink: "))
			}
			e.prefix = v
		case "templates":
			if install, err = strconv.ParseBool(v); err != nil {
				return nil, fail("templates=%s: want true or false", v)
			}
		case "api_key_file":
			if u.User != nil {
				return nil, fail("api_key_file and USER:PASSWORD@ both given; choose one")
			}
			data, err := os.ReadFile(v)
			if err != nil {
				return nil, fail("api_key_file: %v", err)
			}
			key := strings.TrimSpace(string(data))
			if key == "" || strings.ContainsAny(key, " \t\r\n") {
				return nil, fail("api_key_file %s: want one encoded API key and nothing else", v)
			}
			e.auth = "ApiKey " + key
		case "ca_file":
			caFile = v
		case "timeout":
			if timeout, err = time.ParseDuration(v); err != nil || timeout <= 0 {
				return nil, fail("timeout=%s: want a positive duration such as 10s", v)
			}
		default:
			return nil, fail("unknown option %q; es+http and es+https take prefix, templates, api_key_file, ca_file, timeout", name)
		}
	}
	tr, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, fail("the default HTTP transport is not an *http.Transport")
	}
	tr = tr.Clone()
	if scheme == "https" {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if caFile != "" {
		if scheme != "https" {
			return nil, fail("ca_file needs es+https")
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fail("ca_file: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fail("ca_file %s: no PEM certificate in it", caFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	e.client = &http.Client{Transport: tr, Timeout: timeout}
	if install {
		if e.templates, err = templatesFor(e.prefix); err != nil {
			return nil, fail("%v", err)
		}
		e.pending = sortedKeys(e.templates)
	}
	return e, nil
}

// templatesFor returns IndexTemplates for prefix: the template names,
// index patterns and alias names that start with DefaultPrefix+"-" start
// with prefix+"-" instead. With DefaultPrefix, the bodies are unchanged.
func templatesFor(prefix string) (map[string][]byte, error) {
	tpls := IndexTemplates()
	if prefix == DefaultPrefix {
		return tpls, nil
	}
	rename := func(s string) string {
		if rest, ok := strings.CutPrefix(s, DefaultPrefix+"-"); ok {
			return prefix + "-" + rest
		}
		return s
	}
	out := make(map[string][]byte, len(tpls))
	for name, body := range tpls {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			return nil, fmt.Errorf("index template %s: %w", name, err)
		}
		var patterns []string
		if err := json.Unmarshal(top["index_patterns"], &patterns); err != nil {
			return nil, fmt.Errorf("index template %s: index_patterns: %w", name, err)
		}
		for i := range patterns {
			patterns[i] = rename(patterns[i])
		}
		var tpl map[string]json.RawMessage
		err := json.Unmarshal(top["template"], &tpl)
		if err != nil {
			return nil, fmt.Errorf("index template %s: template: %w", name, err)
		}
		if raw, ok := tpl["aliases"]; ok {
			var aliases map[string]json.RawMessage
			if err := json.Unmarshal(raw, &aliases); err != nil {
				return nil, fmt.Errorf("index template %s: aliases: %w", name, err)
			}
			renamed := make(map[string]json.RawMessage, len(aliases))
			for a, v := range aliases {
				renamed[rename(a)] = v
			}
			if tpl["aliases"], err = json.Marshal(renamed); err != nil {
				return nil, fmt.Errorf("index template %s: aliases: %w", name, err)
			}
		}
		if top["index_patterns"], err = json.Marshal(patterns); err != nil {
			return nil, fmt.Errorf("index template %s: %w", name, err)
		}
		if top["template"], err = json.Marshal(tpl); err != nil {
			return nil, fmt.Errorf("index template %s: %w", name, err)
		}
		if out[rename(name)], err = json.Marshal(top); err != nil {
			return nil, fmt.Errorf("index template %s: %w", name, err)
		}
	}
	return out, nil
}

// Encode makes r's _bulk lines.
func (e *elasticHTTP) Encode(r *report.Report) (bulkItem, error) {
	docs := ElasticDocs(r, e.prefix)
	var buf bytes.Buffer
	if err := WriteBulk(&buf, docs); err != nil {
		return bulkItem{}, err
	}
	return bulkItem{id: r.ID, lines: buf.Bytes(), actions: len(docs)}, nil
}

// Send installs the templates still pending, then sends batch in one
// _bulk request and sorts its reports by the answers to their documents.
func (e *elasticHTTP) Send(ctx context.Context, batch []bulkItem) ([]bulkItem, int, error) {
	if len(batch) == 0 {
		return nil, 0, nil
	}
	if err := e.installTemplates(ctx); err != nil {
		return batch, 0, err
	}
	size := 0
	for _, it := range batch {
		size += len(it.lines)
	}
	body := make([]byte, 0, size)
	for _, it := range batch {
		body = append(body, it.lines...)
	}
	resp, err := e.do(ctx, http.MethodPost, e.endpoint("_bulk"), "application/x-ndjson", body)
	if err != nil {
		var se *statusError
		if errors.As(err, &se) && (se.status == http.StatusBadRequest || se.status == http.StatusRequestEntityTooLarge) {
			return nil, len(batch), err
		}
		return batch, 0, err
	}
	var res bulkResponse
	err = json.NewDecoder(resp.Body).Decode(&res)
	discard(resp)
	if err != nil {
		return batch, 0, fmt.Errorf("POST %s: the answer is not a _bulk answer: %w", e.endpoint("_bulk"), err)
	}
	return bulkOutcome(batch, &res)
}

// Close closes the idle connections.
func (e *elasticHTTP) Close() error {
	e.client.CloseIdleConnections()
	return nil
}

// installTemplates installs the pending templates in order, stopping at
// the first failure; those installed are not installed again.
func (e *elasticHTTP) installTemplates(ctx context.Context) error {
	for len(e.pending) > 0 {
		name := e.pending[0]
		resp, err := e.do(ctx, http.MethodPut, e.endpoint("_index_template", name), "application/json", e.templates[name])
		if err != nil {
			return fmt.Errorf("install index template %s: %w", name, err)
		}
		discard(resp)
		e.pending = e.pending[1:]
	}
	return nil
}

func (e *elasticHTTP) endpoint(elem ...string) string {
	return e.base.JoinPath(elem...).String()
}

// do sends a request and returns the response when its status is 2xx;
// otherwise it reads the server's reason and returns a *statusError.
func (e *elasticHTTP) do(ctx context.Context, method, endpoint, contentType string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, endpoint, err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "mailsift")
	if e.auth != "" {
		req.Header.Set("Authorization", e.auth)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err // a *url.Error, which names method and URL
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	discard(resp)
	se := &statusError{op: method + " " + endpoint, status: resp.StatusCode, detail: errorDetail(data)}
	if err != nil && se.detail == "" {
		se.detail = "reading the answer: " + err.Error()
	}
	return nil, se
}

// discard reads what is left of resp's body, within reason, so that the
// connection can be used again, and closes it. An error there changes
// nothing: the answer has been read or given up.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10))
	_ = resp.Body.Close()
}

// statusError is an answer with a status other than 2xx.
type statusError struct {
	op     string // method and URL
	status int
	detail string // the server's error type and reason, or the start of the body
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("%s: %d %s", e.op, e.status, http.StatusText(e.status))
	if e.detail != "" {
		msg += ": " + e.detail
	}
	if e.status == http.StatusUnauthorized || e.status == http.StatusForbidden {
		msg += " (check the user and password or the API key, and the privileges of its role)"
	}
	return msg
}

// transient reports whether err may pass by itself: no answer, or 429 or
// 5xx.
func transient(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.status == http.StatusTooManyRequests || se.status >= 500
	}
	return true
}

// bulkResponse is the part of a _bulk answer that matters here.
type bulkResponse struct {
	Errors bool `json:"errors"`
	// Items has one object per action, keyed by the action ("index").
	Items []map[string]bulkResult `json:"items"`
}

type bulkResult struct {
	Index  string       `json:"_index"`
	ID     string       `json:"_id"`
	Status int          `json:"status"`
	Error  *serverError `json:"error"`
}

// serverError is an Elasticsearch or OpenSearch error object.
type serverError struct {
	Type     string       `json:"type"`
	Reason   string       `json:"reason"`
	CausedBy *serverError `json:"caused_by"`
}

func (e *serverError) String() string {
	if e == nil {
		return ""
	}
	s := e.Type
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if c := e.CausedBy; c != nil && c.Type != "" {
		s += " (caused by " + c.Type
		if c.Reason != "" {
			s += ": " + c.Reason
		}
		s += ")"
	}
	return s
}

// errorDetail returns the reason in an error answer's body: the error
// object of Elasticsearch and OpenSearch, or else the start of the text
// (a proxy's page).
func errorDetail(body []byte) string {
	var v struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil && len(v.Error) > 0 {
		var s string
		if json.Unmarshal(v.Error, &s) == nil && s != "" {
			return s
		}
		var se serverError
		if json.Unmarshal(v.Error, &se) == nil && se.Type != "" {
			return se.String()
		}
	}
	return clip(strings.Join(strings.Fields(string(body)), " "), 200)
}

// clip cuts s to at most n bytes, at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// bulkOutcome sorts the reports of batch by the answers to their
// actions: a report is sent again when any got 429 or 5xx, refused when
// any other failed, and stored otherwise.
func bulkOutcome(batch []bulkItem, res *bulkResponse) ([]bulkItem, int, error) {
	total := 0
	for _, it := range batch {
		total += it.actions
	}
	if len(res.Items) != total {
		if !res.Errors {
			return nil, 0, nil // some proxy filtered the items; nothing failed
		}
		return batch, 0, fmt.Errorf("_bulk answer has %d items for %d actions", len(res.Items), total)
	}
	if !res.Errors {
		return nil, 0, nil
	}
	var retry []bulkItem
	var again, refused failures
	k := 0
	for i, it := range batch {
		var retryWhy, refuseWhy string
		for _, item := range res.Items[k : k+it.actions] {
			for _, r := range item {
				if r.Status/100 == 2 {
					continue
				}
				doc := r.Index
				if r.ID != it.id {
					doc += "/" + r.ID
				}
				why := fmt.Sprintf("%s: %d", doc, r.Status)
				if r.Error != nil {
					why += " " + r.Error.String()
				}
				switch {
				case r.Status == http.StatusTooManyRequests || r.Status >= 500 || r.Status == 0:
					if retryWhy == "" {
						retryWhy = why
					}
				case refuseWhy == "":
					refuseWhy = why
				}
			}
		}
		k += it.actions
		name := it.id
		if name == "" {
			name = "#" + strconv.Itoa(i+1) + " of the batch"
		}
		switch {
		case retryWhy != "":
			retry = append(retry, it)
			again.add(name, retryWhy)
		case refuseWhy != "":
			refused.add(name, refuseWhy)
		}
	}
	switch {
	case len(retry) > 0 && refused.n > 0:
		return retry, refused.n, fmt.Errorf("%d of %d reports failed for now: %s; and %d refused for good, not sent again: %s",
			again.n, len(batch), again, refused.n, refused)
	case len(retry) > 0:
		return retry, 0, fmt.Errorf("%d of %d reports failed for now: %s", again.n, len(batch), again)
	case refused.n > 0:
		return nil, refused.n, fmt.Errorf("%d of %d reports refused for good: %s", refused.n, len(batch), refused)
	}
	return nil, 0, nil
}

// failures collects the first few reasons for an error message.
type failures struct {
	n    int
	text []string
}

func (f *failures) add(report, why string) {
	f.n++
	if len(f.text) < 3 {
		f.text = append(f.text, "report "+report+": "+why)
	}
}

func (f failures) String() string {
	s := strings.Join(f.text, "; ")
	if more := f.n - len(f.text); more > 0 {
		s += fmt.Sprintf("; and %d more", more)
	}
	return s
}
