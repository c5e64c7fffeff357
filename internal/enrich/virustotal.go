package enrich

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// ErrNoHash is returned for a file without a usable hash to look up.
var ErrNoHash = errors.New("no hash")

// maxResponse bounds what is read of one VirusTotal response.
const maxResponse = 8 << 20

// maxNames is how many of a file's names a result keeps.
const maxNames = 5

// permalinkBase is where VirusTotal's web interface shows an object.
const permalinkBase = "https://www.virustotal.com/gui/"

// APIError is an error answer of the VirusTotal API, such as 429
// QuotaExceededError or 401 WrongCredentialsError.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is VirusTotal's error code, such as "QuotaExceededError"; it is
	// empty when the body was not a VirusTotal error.
	Code string
	// Message is VirusTotal's explanation, or the start of the body.
	Message string
}

// Error gives the status, the code and the message.
func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.StatusCode)
	}
	if e.Message == "" {
		return fmt.Sprintf("%d %s", e.StatusCode, code)
	}
	return fmt.Sprintf("%d %s: %s", e.StatusCode, code, e.Message)
}

// VirusTotal is a VirusTotal v3 API client that looks files up by hash
// and IPs by address. It is safe for concurrent use; all its lookups share
// one rate limit.
type VirusTotal struct {
	base   string
	key    string
	client *http.Client
	limit  *limiter
}

var (
	_ FileEnricher = (*VirusTotal)(nil)
	_ IPEnricher   = (*VirusTotal)(nil)
)

// NewVirusTotal returns a client for c.BaseURL with the API key c names
// (see VirusTotalConfig.APIKey) and c.RequestsPerMinute (4 when zero or
// less). It does not connect.
func NewVirusTotal(c VirusTotalConfig) (*VirusTotal, error) {
	key, err := c.apiKey()
	if err != nil {
		return nil, err
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultConfig().VirusTotal.BaseURL
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("enrich: virustotal: base url: %w", err)
	}
	rpm := c.RequestsPerMinute
	if rpm <= 0 {
		rpm = DefaultConfig().VirusTotal.RequestsPerMinute
	}
	return &VirusTotal{
		base:   strings.TrimSuffix(base, "/"),
		key:    key,
		client: &http.Client{},
		limit:  newLimiter(rpm, 1),
	}, nil
}

// Name returns "virustotal".
func (v *VirusTotal) Name() string { return "virustotal" }

// File looks f up by SHA-256 (or SHA-1, or MD5, whichever is set first).
// A known file gives {"found": true, "last_analysis_stats": {"malicious",
// "suspicious", "harmless", "undetected"}, "reputation", "names",
// "meaningful_name", "type_description", "last_analysis_date",
// "permalink"}; an unknown one {"found": false}.
func (v *VirusTotal) File(ctx context.Context, f File) (map[string]any, error) {
	hash := ""
	for _, h := range []string{f.SHA256, f.SHA1, f.MD5} {
		if h != "" {
			hash = strings.ToLower(h)
			break
		}
	}
	if !isHexHash(hash) {
		return nil, fmt.Errorf("enrich: virustotal: file %s: %w", f.Name, ErrNoHash)
	}
	res, a, err := v.lookup(ctx, "files/"+hash, "file/")
	if err != nil || a == nil {
		return res, err
	}
	if len(a.Names) > 0 {
		names := a.Names
		if len(names) > maxNames {
			names = names[:maxNames]
		}
		res["names"] = append([]string(nil), names...)
	}
	if a.MeaningfulName != "" {
		res["meaningful_name"] = a.MeaningfulName
	}
	if a.TypeDescription != "" {
		res["type_description"] = a.TypeDescription
	}
	if a.LastAnalysisDate > 0 {
		res["last_analysis_date"] = time.Unix(a.LastAnalysisDate, 0).UTC().Format(time.RFC3339)
	}
	return res, nil
}

// lookup fetches one object and starts its result with what files and
// IPs share; the attributes are nil when VirusTotal does not know it.
func (v *VirusTotal) lookup(ctx context.Context, path, gui string) (map[string]any, *vtAttributes, error) {
	obj, found, err := v.get(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return map[string]any{"found": false}, nil, nil
	}
	a := &obj.Data.Attributes
	return map[string]any{
		"found":               true,
		"last_analysis_stats": stats(a.LastAnalysisStats),
		"reputation":          a.Reputation,
		"permalink":           permalinkBase + gui + obj.Data.ID,
	}, a, nil
}

// IP looks ip up. A known address gives {"found": true,
// "last_analysis_stats", "reputation", "country", "as_owner", "asn",
// "network", "permalink"}; an unknown one {"found": false}. Addresses that
// are not public (private, loopback, link-local, multicast, unspecified)
// are not sent and give {"found": false, "skipped": "not a public
// address"}.
func (v *VirusTotal) IP(ctx context.Context, ip netip.Addr) (map[string]any, error) {
	ip = ip.Unmap()
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return map[string]any{"found": false, "skipped": "not a public address"}, nil
	}
	res, a, err := v.lookup(ctx, "ip_addresses/"+ip.String(), "ip-address/")
	if err != nil || a == nil {
		return res, err
	}
	if a.Country != "" {
		res["country"] = a.Country
	}
	if a.ASOwner != "" {
		res["as_owner"] = a.ASOwner
	}
	if a.ASN != 0 {
		res["asn"] = a.ASN
	}
	if a.Network != "" {
		res["network"] = a.Network
	}
	return res, nil
}

// stats keeps the four verdict counts, zero when absent.
func stats(s map[string]int) map[string]any {
	return map[string]any{
		"malicious":  s["malicious"],
		"suspicious": s["suspicious"],
		"harmless":   s["harmless"],
		"undetected": s["undetected"],
	}
}

// vtObject is the part of a v3 object response that results use.
type vtObject struct {
	Data struct {
		ID         string       `json:"id"`
		Type       string       `json:"type"`
		Attributes vtAttributes `json:"attributes"`
	} `json:"data"`
}

// vtAttributes are the attributes of a file or an IP address.
type vtAttributes struct {
	LastAnalysisStats map[string]int `json:"last_analysis_stats"`
	LastAnalysisDate  int64          `json:"last_analysis_date"`
	Reputation        int            `json:"reputation"`
	Names             []string       `json:"names"`
	MeaningfulName    string         `json:"meaningful_name"`
	TypeDescription   string         `json:"type_description"`
	Country           string         `json:"country"`
	ASOwner           string         `json:"as_owner"`
	ASN               int            `json:"asn"`
	Network           string         `json:"network"`
}

// vtError is a v3 error response.
type vtError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// get fetches {base}/{path} after waiting for the rate limit. found is
// false, with no error, for VirusTotal's 404 NotFoundError.
func (v *VirusTotal) get(ctx context.Context, path string) (obj vtObject, found bool, err error) {
	if err := v.limit.wait(ctx); err != nil {
		return obj, false, fmt.Errorf("enrich: virustotal: get %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.base+"/"+path, nil)
	if err != nil {
		return obj, false, fmt.Errorf("enrich: virustotal: get %s: %w", path, err)
	}
	req.Header.Set("x-apikey", v.key)
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return obj, false, fmt.Errorf("enrich: virustotal: get %s: %w", path, err)
	}
	defer func() {
		if cerr := resp.Body.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("enrich: virustotal: get %s: close: %w", path, cerr)
		}
	}()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return obj, false, fmt.Errorf("enrich: virustotal: get %s: read: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		apiErr := &APIError{StatusCode: resp.StatusCode}
		var e vtError
		if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
			apiErr.Code, apiErr.Message = e.Error.Code, e.Error.Message
		} else {
			apiErr.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
		}
		// Only VirusTotal's own NotFoundError is a definitive answer; a
		// bare 404 may come from a proxy or a wrong base_url.
		if resp.StatusCode == http.StatusNotFound && apiErr.Code == "NotFoundError" {
			return obj, false, nil
		}
		return obj, false, fmt.Errorf("enrich: virustotal: get %s: %w", path, apiErr)
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		return obj, false, fmt.Errorf("enrich: virustotal: get %s: decode: %w", path, err)
	}
	if obj.Data.ID == "" {
		return obj, false, fmt.Errorf("enrich: virustotal: get %s: decode: no data.id", path)
	}
	return obj, true, nil
}

// isHexHash reports whether h looks like an MD5, SHA-1 or SHA-256 in
// lower-case hex.
func isHexHash(h string) bool {
	switch len(h) {
	case 32, 40, 64:
	default:
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
