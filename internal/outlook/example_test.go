package outlook

import (
	"bufio"
	"bytes"
	"fmt"
)

func ExampleToMIME() {
	data := sampleMsg() // the bytes of a .msg file
	if !IsMsg(data) {
		fmt.Println("not an outlook message")
		return
	}
	eml, defects, err := ToMIME(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(eml))
	for sc.Scan() && sc.Text() != "" {
		fmt.Println(sc.Text())
	}
	fmt.Println(len(defects), "defects")
	// Output:
	// From: "Alice Example" <alice@example.com>
	// To: "Bob Builder" <bob@example.org>
	// Cc: "Carol" <carol@example.net>
	// Subject: =?utf-8?q?R=C3=A9union:_invoice_=E2=9C=93?=
	// Date: Tue, 05 Mar 2024 14:30:00 +0000
	// Message-ID: <abc@example.com>
	// MIME-Version: 1.0
	// Content-Type: multipart/mixed; boundary="=_mailsift_0d1851ac7daa_4"
	// 0 defects
}
