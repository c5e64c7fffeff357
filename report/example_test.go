package report_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mailsift/mailsift/report"
)

// A program that reads mailsift's JSON lines decodes each into a Report.
func Example() {
	line := `{"version":"1.0","id":"ab12","analysed_at":"2026-11-22T10:00:00Z","mail":{"headers":[{"name":"Subject","value":"Invoice"}],"subject":"Invoice","size":120,"hashes":{},"body_hashes":{}},"urls":[{"url":"http://xn--80ak6aa92e.com/login","found":["body-html-href"],"scheme":"http","host":"аррӏе.com","is_idn":true}],"phishing":{"score":1,"score_expanded":["mail_body"],"targets":["apple"],"with_phishing":true,"weight":3,"verdict":true},"is_filtered":false}`
	var r report.Report
	if err := json.NewDecoder(strings.NewReader(line)).Decode(&r); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Mail.Subject, r.URLs[0].Host, r.Phishing.Verdict, r.Phishing.Targets)
	// Output: Invoice аррӏе.com true [apple]
}

// Empty optional parts are left out of the JSON.
func ExampleReport_minimal() {
	r := report.Report{Version: report.Version, ID: "ab12", AnalysedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		Mail: report.Mail{Size: 3}}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(r); err != nil {
		fmt.Println(err)
	}
	// Output: {"version":"1.0","id":"ab12","analysed_at":"2026-11-22T10:00:00Z","mail":{"headers":null,"size":3,"hashes":{},"body_hashes":{}},"is_filtered":false}
}
