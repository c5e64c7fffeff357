package main

import (
	"fmt"
	"io"

	"github.com/mailsift/mailsift/internal/config"
)

const configUsage = `usage: mailsift config check [FILE]   validate FILE (or --config, or the default file)
       mailsift config doc            print every key with its documentation and default`

// cmdConfig checks a configuration file or prints the reference. It runs
// before the configuration is loaded, so that a broken file can be
// checked.
func cmdConfig(configPath string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, configUsage)
		return exitError
	}
	switch args[0] {
	case "doc":
		if len(args) > 1 {
			fmt.Fprintln(stderr, configUsage)
			return exitError
		}
		if _, err := stdout.Write(config.Reference); err != nil {
			fmt.Fprintf(stderr, "mailsift config doc: %v\n", err)
			return exitError
		}
		return exitOK
	case "check":
		path := configPath
		switch len(args) {
		case 1:
		case 2:
			path = args[1]
		default:
			fmt.Fprintln(stderr, configUsage)
			return exitError
		}
		shown := path
		if shown == "" {
			shown = config.DefaultPath()
		}
		if _, err := config.Load(path); err != nil {
			fmt.Fprintf(stderr, "mailsift config check: %v\n", err)
			return exitError
		}
		fmt.Fprintf(stdout, "%s: ok\n", shown)
		return exitOK
	}
	fmt.Fprintf(stderr, "mailsift config: unknown subcommand %q\n%s\n", args[0], configUsage)
	return exitError
}
