package phish

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// lurePhrases are the phrases of today's credential and payment lures,
// in English and the languages most phished in Europe and the Americas.
// They are written normalised (see normalise): lower case, no accents,
// words separated by one blank. Phrases that ordinary business mail uses
// as well ("security alert", "within 24 hours", "past due") are left out.
var lurePhrases = []string{
	// English: account and identity
	"verify your account", "verify your identity", "verify your email", "verify your mailbox",
	"verify your information", "verify your details", "confirm your identity",
	"confirm your account", "confirm your email", "confirm your password", "validate your account",
	"validate your email", "update your account information", "update your payment",
	"update your billing", "unusual sign in", "unusual activity", "suspicious activity",
	"suspicious login", "suspicious sign in", "unrecognized device", "account has been suspended",
	"account will be suspended", "account is suspended", "account has been locked",
	"account has been limited", "account will be closed", "account will be deactivated",
	"account has been disabled", "account will be terminated", "temporarily locked",
	"temporarily suspended", "restore access", "restore your account", "reactivate your account",
	"unlock your account", "avoid suspension", "avoid account suspension", "avoid interruption",
	"failure to verify", "failure to comply", "immediate action required", "re authenticate",
	"reauthenticate", "multi factor authentication", "sign in to verify", "log in to verify",
	"login to verify", "click here to verify", "click below to verify",
	// English: passwords and mailboxes
	"password expires", "password will expire", "password has expired", "password expired",
	"password expiry", "password expiration", "keep your current password", "keep same password",
	"keep your password", "your mailbox is full", "mailbox is almost full", "mailbox storage",
	"storage is full", "storage quota", "exceeded the storage", "exceeded your storage",
	"messages are on hold", "email upgrade", "mailbox upgrade", "mailbox will be",
	// English: documents, voicemail, invoices
	"shared a document with you", "shared a file with you", "shared a folder with you",
	"has shared a file", "has shared a document", "sent you a document", "sent you a file",
	"sent you a secure", "review and sign", "please review and sign", "document for your review",
	"you have a new voicemail", "new voicemail", "new voice message", "voicemail message",
	"missed voice message", "invoice is overdue", "overdue invoice",
	"payment is overdue", "payment overdue", "outstanding invoice", "payment failed", "payment was declined", "payment declined", "payment was unsuccessful",
	"unable to process your payment", "billing problem", "billing issue",
	"update your payment details", "subscription has expired", "subscription will expire",
	"membership has been suspended", "remittance advice",
	"urgent wire transfer", "process a wire transfer", "purchase some gift cards",
	"buy some gift cards", "purchase gift cards", "are you at your desk", "are you available now",
	// English: parcels, tax, crypto
	"parcel delivery failed", "package delivery failed", "failed delivery attempt",
	"package could not be delivered", "parcel could not be delivered",
	"unable to deliver your package", "unable to deliver your parcel", "delivery attempt",
	"pending delivery", "parcel is on hold", "package is on hold", "shipment is on hold",
	"customs fee", "redelivery", "reschedule delivery", "schedule your delivery",
	"confirm your delivery", "your tax refund", "claim your tax refund", "tax refund notification",
	"eligible for a refund", "eligible to receive a refund", "refund is ready",
	"claim your refund", "seed phrase", "recovery phrase", "secret phrase", "secret recovery",
	"wallet verification", "verify your wallet", "validate your wallet", "wallet will be",
	"synchronize your wallet", "scan the qr code", "scan the code", "scan this qr code",
	"scan the qr",
	// German
	"konto wurde gesperrt", "konto wird gesperrt", "konto verifizieren", "konto bestatigen",
	"bestatigen sie ihre identitat", "bestatigen sie ihr konto", "identitat bestatigen",
	"passwort lauft ab", "ungewohnliche aktivitat", "verdachtige aktivitat",
	"zahlung fehlgeschlagen", "rechnung ist uberfallig", "paket konnte nicht zugestellt",
	"sendung konnte nicht zugestellt", "zollgebuhr", "steuerruckerstattung",
	// French
	"votre compte a ete suspendu", "votre compte sera suspendu", "verifiez votre compte",
	"verifier votre compte", "confirmer votre identite", "confirmez votre identite",
	"activite inhabituelle", "activite suspecte", "votre mot de passe expire",
	"mot de passe expire", "paiement a echoue", "paiement refuse", "colis en attente",
	"facture impayee", "remboursement d impot", "frais de douane",
	"mettre a jour vos informations",
	// Spanish
	"verifique su cuenta", "verificar su cuenta", "su cuenta ha sido suspendida",
	"su cuenta sera suspendida", "confirme su identidad", "actividad inusual",
	"actividad sospechosa", "su contrasena caduca", "pago rechazado", "paquete retenido",
	"factura vencida", "reembolso de impuestos", "cuenta bloqueada",
	// Italian
	"verifica il tuo account", "il tuo account e stato sospeso", "conferma la tua identita",
	"attivita insolita", "attivita sospetta", "la tua password scade", "pagamento non riuscito",
	"pacco in giacenza", "fattura scaduta", "account bloccato",
	// Portuguese
	"verifique sua conta", "sua conta foi suspensa", "confirme sua identidade",
	"atividade incomum", "atividade suspeita", "sua senha expira", "pagamento recusado",
	"encomenda retida", "conta bloqueada",
	// Dutch
	"verifieer uw account", "uw account is geblokkeerd", "bevestig uw identiteit",
	"ongebruikelijke activiteit", "verdachte activiteit", "uw wachtwoord verloopt",
	"betaling mislukt", "pakket kon niet worden bezorgd",
	// Polish, Russian
	"zweryfikuj swoje konto", "konto zostało zablokowane", "ваш аккаунт заблокирован",
	"подтвердите свою личность", "подозрительная активность",
}

var lure = sync.OnceValue(func() *matcher {
	l := &Lists{}
	for _, p := range lurePhrases {
		l.Subjects = append(l.Subjects, Rule{" " + normalise(p) + " "})
	}
	return newMatcher(l)
})

// lureIn returns up to max distinct lure phrases found in text.
func lureIn(text string, max int) []string {
	m := lure()
	hits := m.newHits()
	m.scan(" "+normalise(text)+" ", hits)
	var out []string
	for i, h := range hits {
		if h {
			out = append(out, strings.TrimSpace(m.words[i]))
			if len(out) == max {
				break
			}
		}
	}
	return out
}

// normalise lower-cases text, removes accents and turns every run of
// characters other than letters and digits into one blank, so that
// "Unusual sign-in\nactivity" reads "unusual sign in activity".
func normalise(s string) string {
	if !isASCII(s) {
		s = norm.NFD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	blank := true
	for _, r := range s {
		switch {
		case r < 0x80 && ('a' <= r && r <= 'z' || '0' <= r && r <= '9'):
			b.WriteRune(r)
			blank = false
		case r < 0x80 && 'A' <= r && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
			blank = false
		case r >= 0x80 && unicode.Is(unicode.Mn, r):
		case r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
			blank = false
		default:
			if !blank {
				b.WriteByte(' ')
				blank = true
			}
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// mentionsQR reports "QR", "QR-code" or "qrcode" as a word of text.
func mentionsQR(text string) bool {
	low := strings.ToLower(text)
	for i := 0; ; {
		j := strings.Index(low[i:], "qr")
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isWordByte(low[j-1])
		end := j + 2
		if strings.HasPrefix(low[end:], "code") {
			end += 4
		}
		after := end == len(low) || !isWordByte(low[end])
		if before && after {
			return true
		}
		i = j + 2
	}
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c >= 0x80
}
