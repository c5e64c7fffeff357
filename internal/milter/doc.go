// Package milter is mailsift's front end for MTAs that speak the milter
// protocol (Postfix's smtpd_milters, Sendmail's INPUT_MAIL_FILTER). It
// marks every message with the spam verdict and, past configured scores,
// tags its Subject, holds it in quarantine or rejects it. It translates;
// the verdict comes from a Scanner (FilterScanner for the Bayesian filter
// alone).
//
// # How a message flows
//
// The MTA connects to the listener given to [Server.Serve]. The milter
// library github.com/d--j/go-milter, through its high-level mailfilter
// API, negotiates protocol 6 with the MTA, collects the header fields and
// up to max_bytes of the body (beyond 256 KiB in a temporary file), and
// calls the server once per message at the end of data. The server then:
//
//  1. rebuilds the raw message: the header fields as received (folded
//     lines ending in CRLF), an empty line, and the body, cut after
//     max_bytes (Outcome.Truncated);
//
//  2. has the Scanner judge it, in a goroutine of its own, for at most
//     timeout; a scanner error, a panic or a timeout makes the verdict
//     unknown and is logged at warn level, and the message goes on;
//
//  3. deletes the fields a sender could forge: every spam_header and
//     attachments_header field, and the Authentication-Results fields of
//     authserv_id that carry an x-mailsift result;
//
//  4. adds, to every message, "spam_header: <verdict>" at the end of the
//     header (mark's format: "yes; 0.99; word:99 ...", or "unknown; 0.50;
//     error: <why>" when the scan failed), "attachments_header: <summary>"
//     when the message has attachments, and with results_header an
//     Authentication-Results field at the top:
//
//     Authentication-Results: mx.example.org; x-mailsift=spam policy.score=0.990
//
//     (results spam, ham, unknown, or "temperror (timeout)" when the scan
//     failed; policy.phishing=fail|pass policy.phishing-weight=<w> when
//     the scanner checks for phishing);
//
//  5. takes the strongest action whose threshold the score reached:
//     reject_at (550 5.7.1 reject_message at the end of DATA), then
//     quarantine_at (accepted into the MTA's hold queue; also phishing
//     with quarantine_phishing), then tag_subject_at (Subject prefixed
//     with tag_prefix). A verdict of class unknown, and a failed scan,
//     never trigger an action.
//
// mailfilter turns these changes into the milter's header change, insert
// and quarantine requests; the body is never changed. While the scanner
// runs, mailfilter tells the MTA every second that the milter is alive.
//
// SetConfig swaps the configuration atomically: a message uses the one in
// force when its data has been received. Observe sees every Outcome, for
// metrics.
//
// # The listener
//
// mailfilter binds its own socket and takes no net.Listener. Serve starts
// it on a Unix socket in a private directory (mode 0700) and relays every
// connection accepted from the given listener to it, byte for byte: a
// listener from anywhere (systemd, tests) works, at the cost of one local
// copy of the milter traffic. Shutdown stops accepting and waits for the
// MTA to close its connections; Postfix keeps one open per SMTP session.
//
// # Left out
//
// The body is not rewritten and nothing else of the message changes: no
// Subject rewriting for unknown verdicts, no recipient or envelope
// changes, no discard (a message is refused or delivered, never dropped
// silently). Phishing and attachment analysis, DKIM, SPF and DMARC are not
// done here: a Scanner that calls the analysis engine can supply the
// phishing verdict. There is no per-recipient policy, no training from
// the milter, and no authentication of the MTA: bind the listener to
// loopback or a Unix socket that only the MTA can reach.
package milter
