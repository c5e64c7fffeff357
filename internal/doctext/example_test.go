package doctext_test

import (
	"context"
	"fmt"

	"github.com/mailsift/mailsift/internal/doctext"
)

func ExampleExtractor_Extract() {
	ext := doctext.New(doctext.Config{})
	defer ext.Close()

	rtf := `{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Your parcel is waiting.\par ` +
		`{\field{\*\fldinst HYPERLINK "https://parcel.example/track"}{\fldrslt Track it}}}`
	doc, err := ext.Extract(context.Background(), "text/rtf", []byte(rtf))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", doc.Text)
	fmt.Println(doc.Links)
	// Output:
	// "Your parcel is waiting.\nTrack it"
	// [https://parcel.example/track]
}
