package config

import _ "embed"

// Reference is the configuration reference: every key with its
// documentation and default, as a YAML file that Load accepts. It is
// generated from the code (go generate) and printed by
// "mailsift config doc".
//
//go:embed reference.yml
var Reference []byte
