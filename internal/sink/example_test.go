package sink_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/report"
)

func example() *report.Report {
	return &report.Report{
		Version:    report.Version,
		ID:         "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		AnalysedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Mail:       report.Mail{Subject: "Invoice", Size: 1234},
		Attachments: []report.Attachment{{
			Filename: "invoice.zip", Size: 200, IsArchive: true,
			Hashes: report.Hashes{SHA256: "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"},
			Members: []report.Attachment{{
				Path: "invoice.zip/invoice.exe", Filename: "invoice.exe", Size: 180,
				Hashes: report.Hashes{SHA256: "bd7c911264aae15e5a5b0d6bc5e52d2e1ac53e8e4a3e3f2a7bbd8bd2fb57ea9f"},
			}},
		}},
	}
}

func ExampleOpen() {
	s, err := sink.Open("-", os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	r := example()
	r.Attachments = nil
	if err := s.Write(context.Background(), r); err != nil {
		log.Fatal(err)
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {"version":"1.0","id":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae","analysed_at":"2026-03-04T05:06:07Z","mail":{"headers":null,"subject":"Invoice","size":1234,"hashes":{},"body_hashes":{}},"is_filtered":false}
}

func ExampleElasticDocs() {
	for _, d := range sink.ElasticDocs(example(), sink.DefaultPrefix) {
		fmt.Println(d.Index, d.ID)
	}
	// Output:
	// mailsift-mails-2026.03.04 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
	// mailsift-attachments-2026.03.04 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae-fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9
	// mailsift-attachments-2026.03.04 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae-bd7c911264aae15e5a5b0d6bc5e52d2e1ac53e8e4a3e3f2a7bbd8bd2fb57ea9f
}
