// Package enrich holds the analysis enrichers: optional stages that ask an
// outside service about an attachment or the sender's IP address and add
// its answer to the report, under the enricher's name, as a
// report.Enriched. All of them are off by default.
//
// # Data flow
//
// The analysis hands each attachment (and each archive member) as a File,
// and the sender IP as a netip.Addr, to every enabled Stage:
//
//	analysis -> Stage -> cache -> enricher -> service
//
// A Stage looks the key (the file's SHA-256, or the IP) up in its bounded
// LRU cache first; concurrent lookups of one key wait for a single call.
// On a miss it calls the enricher under its own timeout, in a goroutine
// with recover, and turns whatever comes back into a report.Enriched:
// a result, or an Error string for errors, timeouts and panics. A failing
// enricher never fails the mail. Results are cached, including definitive
// negative answers ("not infected", "VirusTotal does not know this file");
// errors are not, so the next mail asks again. Cached results are shared
// between reports and must be treated as read-only.
//
// New builds the enabled stages from a Config; FileEnricher and
// IPEnricher are the seams for further enrichers.
//
// # ClamAV
//
// ClamAV talks to a clamd daemon over its unix or TCP socket, one
// connection per file: "zINSTREAM\x00", then the content in chunks, each
// preceded by its length as a 4-byte big-endian integer, then a zero
// length. clamd answers "stream: OK", "stream: <signature> FOUND" or
// "<message> ERROR"; "INSTREAM size limit exceeded" (clamd's
// StreamMaxLength) is reported as ErrTooLarge. Files larger than
// ClamAVConfig.MaxBytes are not sent. The context's deadline and
// cancellation apply to the connection. Ping ("zPING") and Version
// ("zVERSION") serve health checks.
//
// # VirusTotal
//
// VirusTotal looks files up by hash (GET {base}/files/{sha256}) and IPs by
// address (GET {base}/ip_addresses/{ip}) with the v3 API, the key in the
// x-apikey header. A 404 NotFoundError is the definitive answer
// {"found": false}; 429 QuotaExceededError, other API errors and 5xx
// answers are errors (APIError). Requests pass a token-bucket limiter
// (VirusTotalConfig.RequestsPerMinute, 4 for the public API) that waits
// under the caller's context and gives up at once with ErrRateLimited when
// the wait would outlast the context's deadline. Private, loopback and
// other non-public addresses are not sent.
//
// # Left out
//
// Files are never uploaded to VirusTotal, only looked up by hash, so
// nothing of a mail leaves the host but hashes and the sender IP. There is
// no retry: a failed lookup is asked again by the next mail that has the
// same file. The cache lives in memory, per process; it is not shared
// between workers. Tika, Thug, Shodan and SpamAssassin, which SpamScope
// also offers, have no enricher here.
package enrich
