package main

import (
	"strconv"
	"strings"
)

// flagSpec describes one option of a command. Options may stand anywhere
// among the files, as xargs and find pass them, and options that change
// state (--ham, --min) apply to the files after them.
type flagSpec struct {
	names    []string
	hasValue bool
	// set is called when the option is met; value is "" for switches.
	set func(value string) error
}

// parseArgs walks args in order, calling each option's set and file for
// every other argument. "--" ends the options. "-" is a file (stdin).
func parseArgs(args []string, specs []flagSpec, file func(string)) error {
	opts := true
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !opts || a == "-" || !strings.HasPrefix(a, "-") {
			file(a)
			continue
		}
		if a == "--" {
			opts = false
			continue
		}
		name, value, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		spec := findSpec(specs, name)
		if spec == nil {
			return usagef("unknown option %s", a)
		}
		if spec.hasValue && !inline {
			if i+1 >= len(args) {
				return usagef("option %s needs a value", a)
			}
			i++
			value = args[i]
		} else if !spec.hasValue && inline {
			return usagef("option --%s takes no value", name)
		}
		if err := spec.set(value); err != nil {
			return usagef("%s: %v", a, err)
		}
	}
	return nil
}

func findSpec(specs []flagSpec, name string) *flagSpec {
	for i := range specs {
		for _, n := range specs[i].names {
			if n == name {
				return &specs[i]
			}
		}
	}
	return nil
}

func boolFlag(p *bool, names ...string) flagSpec {
	return flagSpec{names: names, set: func(string) error { *p = true; return nil }}
}

func probFlag(p *float64, names ...string) flagSpec {
	return flagSpec{names: names, hasValue: true, set: func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return usagef("%q is not a probability between 0 and 1", v)
		}
		*p = f
		return nil
	}}
}
