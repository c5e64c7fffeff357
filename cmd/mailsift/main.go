// Command mailsift is a Bayesian spam filter in the SpamOracle tradition:
// train it on your own good mail and spam, then let your mail delivery run
// every incoming message through "mailsift mark".
//
// Run "mailsift help" for the commands.
package main

import (
	"os"

	_ "github.com/mailsift/mailsift/internal/prefault"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
