package phish_test

import (
	"fmt"

	"github.com/mailsift/mailsift/internal/phish"
	"github.com/mailsift/mailsift/internal/urls"
)

func Example() {
	lists, err := phish.ParseLists("targets.yml", []byte("PayPal: [paypal, \"pay pal\"]\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	body := `<p>Your PayPal account has been limited. Confirm your identity:</p>
<a href="https://paypal.com.account-review.example/signin">https://www.paypal.com/signin</a>`
	in := &phish.Input{
		Subject:  "Your account has been limited",
		From:     []phish.Address{{Name: "PayPal", Address: "service@intl-support.example"}},
		BodyText: "Your PayPal account has been limited. Confirm your identity: https://www.paypal.com/signin",
		HTML:     []string{body},
		BodyURLs: urls.FromHTML(body),
	}
	p := phish.Check(in, lists, nil)
	fmt.Println(p.Score, p.ScoreExpanded, p.Targets, p.WithPhishing)
	for _, f := range p.Findings {
		fmt.Printf("%s %.2f %s\n", f.Name, f.Weight, f.Detail)
	}
	fmt.Println(p.Weight, p.Verdict)
	// Output:
	// 35 [mail_from urls_body mail_body] [PayPal] true
	// link-text-brand-mismatch 1.00 www.paypal.com -> paypal.com.account-review.example
	// urgency-language 0.80 confirm your identity; account has been limited
	// brand-in-subdomain 0.70 paypal.com.account-review.example carries PayPal
	// display-name-spoof 0.70 PayPal from intl-support.example
	// 3.5 true
}

func ExampleKeywords() {
	// LoadKeywords reads the files once; call Reload before use or on a
	// timer to pick up changes, and Current for the lists in use.
	kw, err := phish.LoadKeywords(nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	changed, err := kw.Reload()
	fmt.Println(changed, err, len(kw.Current().Subjects))
	// Output:
	// false <nil> 0
}
