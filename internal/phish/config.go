package phish

import "maps"

// Config tunes Check. The zero value has no brands, the default weights,
// the default threshold and no bitmap share.
type Config struct {
	// Brands maps a brand name to the registered domains it mails and
	// links from. The names are looked for in From display names; the
	// domains are the targets of the look-alike and brand-in-host checks
	// and the hosts that count as the brand's own.
	Brands map[string][]string
	// Weights overrides the weight of findings by name; a name not listed
	// keeps its default (see DefaultWeights). A weight of 0 turns the
	// finding off.
	Weights map[string]float64
	// Threshold is the total weight at which Verdict is true; 0 or less
	// means DefaultThreshold.
	Threshold float64
	// BitmapWeight is added to the weight once per bit set in the SpamScope
	// bitmap, and only when the bitmap's with_phishing is true.
	BitmapWeight float64
}

// Defaults of Config.
const (
	DefaultThreshold    = 1.0
	DefaultBitmapWeight = 0.1
)

// Finding names.
const (
	FindCredentialForm     = "credential-form"
	FindHTMLAttachmentForm = "html-attachment-form"
	FindHTMLAttachmentCode = "html-attachment-script"
	FindHTMLAttachment     = "html-attachment"
	FindExternalForm       = "external-form"
	FindDataURI            = "data-uri"
	FindScriptLink         = "script-link"
	FindLookAlike          = "lookalike-domain"
	FindBrandInSubdomain   = "brand-in-subdomain"
	FindBrandInDomain      = "brand-in-domain"
	FindIDN                = "idn-domain"
	FindMixedScript        = "mixed-script-domain"
	FindDisplayNameSpoof   = "display-name-spoof"
	FindLinkTextBrand      = "link-text-brand-mismatch"
	FindLinkText           = "link-text-mismatch"
	FindReplyTo            = "from-reply-to-mismatch"
	FindReplyToFreemail    = "reply-to-freemail"
	FindReturnPath         = "from-return-path-mismatch"
	FindExecutable         = "executable-attachment"
	FindDoubleExtension    = "double-extension"
	FindTypeMismatch       = "type-mismatch"
	FindEncryptedArchive   = "encrypted-archive"
	FindIPURL              = "ip-url"
	FindObfuscatedIP       = "obfuscated-ip"
	FindUserinfo           = "userinfo-url"
	FindShortener          = "url-shortener"
	FindFreeHosting        = "free-hosting"
	FindUserContent        = "user-content-link"
	FindIPFS               = "ipfs-link"
	FindOpenRedirect       = "open-redirect"
	FindUrgency            = "urgency-language"
	FindQRCode             = "qr-code-lure"
	FindAuthFail           = "auth-fail"
	FindRecipientInURL     = "recipient-in-url"
)

// defaultWeights are the built-in weights; the package comment explains
// them.
var defaultWeights = map[string]float64{
	FindCredentialForm:     1.0,
	FindHTMLAttachmentForm: 1.2,
	FindHTMLAttachmentCode: 0.7,
	FindHTMLAttachment:     0.2,
	FindExternalForm:       0.4,
	FindDataURI:            1.0,
	FindScriptLink:         0.2,
	FindLookAlike:          1.0,
	FindBrandInSubdomain:   0.7,
	FindBrandInDomain:      0.5,
	FindIDN:                0.3,
	FindMixedScript:        0.8,
	FindDisplayNameSpoof:   0.7,
	FindLinkTextBrand:      1.0,
	FindLinkText:           0.4,
	FindReplyTo:            0.2,
	FindReplyToFreemail:    0.4,
	FindReturnPath:         0.1,
	FindExecutable:         1.0,
	FindDoubleExtension:    1.0,
	FindTypeMismatch:       0.6,
	FindEncryptedArchive:   0.6,
	FindIPURL:              0.5,
	FindObfuscatedIP:       1.0,
	FindUserinfo:           1.0,
	FindShortener:          0.3,
	FindFreeHosting:        0.5,
	FindUserContent:        0.25,
	FindIPFS:               0.8,
	FindOpenRedirect:       0.3,
	FindUrgency:            0.5,
	FindQRCode:             0.8,
	FindAuthFail:           0.6,
	FindRecipientInURL:     0.6,
}

// DefaultWeights returns a copy of the built-in weight of every finding.
func DefaultWeights() map[string]float64 { return maps.Clone(defaultWeights) }

// DefaultConfig returns the built-in brands and weights, the default
// threshold and bitmap share. The maps are fresh copies the caller may
// change.
func DefaultConfig() Config {
	b := make(map[string][]string, len(defaultBrands))
	for name, domains := range defaultBrands {
		b[name] = append([]string(nil), domains...)
	}
	return Config{
		Brands:       b,
		Weights:      DefaultWeights(),
		Threshold:    DefaultThreshold,
		BitmapWeight: DefaultBitmapWeight,
	}
}

// weight returns the configured weight of a finding.
func (c *Config) weight(name string) float64 {
	if w, ok := c.Weights[name]; ok {
		return w
	}
	return defaultWeights[name]
}

func (c *Config) threshold() float64 {
	if c.Threshold <= 0 {
		return DefaultThreshold
	}
	return c.Threshold
}
