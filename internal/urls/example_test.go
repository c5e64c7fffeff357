package urls_test

import (
	"fmt"

	"github.com/mailsift/mailsift/internal/urls"
)

func Example() {
	set := urls.NewSet(urls.Limits{})
	set.AddText("Report: hxxp://login-verify[.]example/paypal and www.example.org.", urls.SourceText)
	set.AddHTML(`<a href="http://paypal.com@evil.example/">https://www.paypal.com/</a>`)
	for _, u := range set.URLs() {
		fmt.Println(u.Source, u.URL, u.RegisteredDomain, u.Defanged, u.HasUserinfo, u.Texts)
	}
	// Output:
	// text http://login-verify.example/paypal login-verify.example true false []
	// text http://www.example.org/ example.org false false []
	// html-href http://paypal.com@evil.example/ evil.example false true [https://www.paypal.com/]
	// html-text https://www.paypal.com/ paypal.com false false []
}

func ExampleLookAlike() {
	targets := []string{"apple.com", "paypal.com"}
	for _, d := range []string{"xn--80ak6aa92e.com", "paypa1.com", "paypal.com.evil.example", "apple.com"} {
		if t, ok := urls.LookAlike(d, targets); ok {
			fmt.Println(d, "looks like", t)
		}
		if t, ok := urls.BrandInSubdomain(d, targets); ok {
			fmt.Println(d, "carries", t, "in a subdomain")
		}
	}
	// Output:
	// xn--80ak6aa92e.com looks like apple.com
	// paypa1.com looks like paypal.com
	// paypal.com.evil.example carries paypal.com in a subdomain
}
