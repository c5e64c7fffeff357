package mailbox_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mailsift/mailsift/internal/mailbox"
)

func Example() {
	box := filepath.Join("..", "..", "testdata", "mailbox", "sample.mbox")
	missing := filepath.Join("..", "..", "testdata", "mailbox", "missing.eml")

	r := mailbox.Open([]string{box, missing}, os.Stdin)
	defer func() {
		if err := r.Close(); err != nil {
			fmt.Println(err)
		}
	}()
	for {
		msg, err := r.Next()
		if err == io.EOF {
			break
		}
		var bad *mailbox.MessageError
		if errors.As(err, &bad) {
			fmt.Println("skipped:", filepath.Base(bad.Origin))
			continue // one bad mail or file does not end the run
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %d bytes, envelope %q\n", filepath.Base(msg.Origin), len(msg.Raw), msg.Envelope)
	}
	// Output:
	// sample.mbox:1: 115 bytes, envelope "alice@example.org Sat Jan  3 01:05:34 1996"
	// sample.mbox:2: 106 bytes, envelope "bob@example.net Sat Jan  3 02:10:00 1996"
	// skipped: missing.eml
}
