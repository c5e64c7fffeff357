package phish

import (
	"strings"

	"github.com/mailsift/mailsift/internal/urls"
)

// shorteners are URL shortening services. Brand-owned ones that only
// lead to the brand (amzn.to, youtu.be, aka.ms) are left out.
var shorteners = set(
	"bit.ly", "bitly.com", "bitly.ws", "tinyurl.com", "tiny.one", "t.co", "goo.gl", "ow.ly",
	"is.gd", "v.gd", "buff.ly", "rebrand.ly", "cutt.ly", "shorturl.at", "rb.gy", "t.ly",
	"s.id", "tiny.cc", "lnkd.in", "bl.ink", "short.io", "short.gy", "shorte.st", "adf.ly",
	"bc.vc", "ouo.io", "tr.im", "x.co", "soo.gd", "clck.ru", "u.to", "2.gp", "qrco.de",
	"l.ead.me", "linktr.ee", "urlz.fr", "surl.li", "shorturl.asia", "hyperurl.co",
	"dlvr.it", "ift.tt", "snip.ly", "snipurl.com", "makeashorterlink.com", "tinu.be",
	"gg.gg", "did.li", "shrtco.de", "9qr.de", "u.nu", "qr.link", "me-qr.com", "qrco.de",
	"t2m.io", "zpr.io", "vo.la", "lnk.to", "bitly.is", "trib.al", "n9.cl", "tny.im",
)

// freeHosting are hosts where anyone can publish a page within minutes,
// the usual home of credential-harvest pages today: serverless and static
// hosting, object storage, tunnels and the site builders most abused.
var freeHosting = set(
	"web.app", "firebaseapp.com", "pages.dev", "workers.dev", "r2.dev", "glitch.me",
	"repl.co", "replit.app", "replit.dev", "000webhostapp.com", "weeblysite.com",
	"square.site", "godaddysites.com", "storage.googleapis.com",
	"firebasestorage.googleapis.com", "blob.core.windows.net", "web.core.windows.net",
	"s3.amazonaws.com", "digitaloceanspaces.com", "backblazeb2.com", "ngrok.io",
	"ngrok-free.app", "ngrok.app", "trycloudflare.com", "translate.goog", "onrender.com",
	"fly.dev", "azurewebsites.net", "azurestaticapps.net", "framer.website", "framer.app",
	"surge.sh", "mybluehost.me", "wcomhost.com", "yolasite.com", "jimdosite.com",
	"webcindario.com", "sited.app", "typedream.app", "codesandbox.io", "csb.app",
	"firebasestorage.app", "appspot.com", "cprapid.com", "cloudflare-ipfs.com",
	"myshopify.com", "mystrikingly.com", "strikingly.com", "tilda.ws", "web3forms.com",
	"formspree.io", "getform.io", "ukit.me", "wixstudio.io", "editorx.io",
	"softr.app", "glide.page", "gitbook.io", "kinsta.cloud", "deta.dev", "deno.dev",
)

// userContent are hosts of blogs, documents, forms and file shares: used
// every day by legitimate senders, but also to host the first step of a
// lure, so they weigh little.
var userContent = set(
	"blogspot.com", "github.io", "gitlab.io", "netlify.app", "vercel.app", "herokuapp.com",
	"weebly.com", "wixsite.com", "webflow.io", "notion.site", "carrd.co", "wordpress.com",
	"sites.google.com", "forms.gle", "drive.google.com", "dropboxusercontent.com",
	"1drv.ms", "onedrive.live.com", "wetransfer.com", "we.tl", "mega.nz", "mediafire.com",
	"jotform.com", "typeform.com", "forms.office.com", "forms.microsoft.com", "airtable.com",
	"smore.com", "padlet.com", "quip.com", "box.com", "canva.site", "my.canva.site",
	"sway.office.com", "sway.cloud.microsoft", "linktr.ee", "hubspotpagebuilder.com",
	"mailchi.mp", "filetransfer.io", "sendspace.com", "zohopublic.com", "evernote.com",
	"dropbox.com", "docsend.com", "prezi.com", "flipsnack.com", "issuu.com", "pdfhost.io",
)

// shareListPaths mark the document and share links of hosts that also
// serve ordinary pages.
var shareListPaths = map[string][]string{
	"docs.google.com":   {"/forms/", "/document/", "/presentation/", "/drawings/", "/spreadsheets/"},
	"dropbox.com":       {"/s/", "/scl/", "/l/", "/sh/", "/t/", "/transfer/"},
	"evernote.com":      {"/shard/", "/l/"},
	"box.com":           {"/s/"},
	"canva.com":         {"/design/"},
	"sharepoint.com":    {"/:b:/", "/:w:/", "/:x:/", "/:p:/", "/:o:/", "/:f:/", "/:u:/", "/:v:/", "/:i:/"},
	"onedrive.live.com": {"/"},
}

// ipfsGateways serve content from IPFS, where phishing kits are parked
// because nobody can take them down.
var ipfsGateways = set(
	"ipfs.io", "dweb.link", "cloudflare-ipfs.com", "cf-ipfs.com", "gateway.pinata.cloud",
	"mypinata.cloud", "nftstorage.link", "w3s.link", "ipfs.w3s.link", "fleek.co",
	"ipfs.fleek.co", "4everland.io", "4everland.link", "infura-ipfs.io", "ipfs.eth.aragon.network",
	"gateway.ipfs.io", "ipfs.runfission.com", "storry.tv", "ipfs.best-practice.se",
	"hardbin.com", "ipfs.filebase.io", "myfilebase.com", "ipfs.flk-ipfs.xyz", "flk-ipfs.xyz",
	"ipfs.cyou", "ipfs.le-space.de", "ipfs.denonet.dev", "ipfs.joaoleitao.org",
)

// esps are the click-tracking and bounce domains of e-mail service
// providers and ad servers: links through them are the rule in
// newsletters.
var esps = set(
	"list-manage.com", "mailchimp.com", "mcusercontent.com", "mcsv.net", "rsgsv.net",
	"mcdlv.net", "mailchimpapp.net", "sendgrid.net", "sendgrid.com", "mandrillapp.com",
	"mailgun.org", "mailgun.net", "sparkpostmail.com", "sparkpost.com", "exacttarget.com",
	"exct.net", "rs6.net", "constantcontact.com", "createsend.com", "createsend1.com",
	"cmail1.com", "cmail2.com", "cmail19.com", "cmail20.com", "hubspotlinks.com",
	"hs-sites.com", "hubspotemail.net", "hubspot.com", "hubspotstarter.net", "pardot.com",
	"klaviyomail.com", "klclick.com", "klclick1.com", "klclick2.com", "klclick3.com",
	"sailthru.com", "iterable.com", "customeriomail.com", "mjt.lu", "mailjet.com",
	"sendibt2.com", "sendibt3.com", "sendibm1.com", "sendinblue.com", "brevo.com",
	"awstrack.me", "amazonses.com", "mlsend.com", "mailerlite.com", "ck.page",
	"convertkit-mail.com", "convertkit-mail2.com", "substack.com", "beehiiv.com",
	"aweber.com", "getresponse.com", "gr8.com", "icptrack.com", "vresp.com",
	"bronto.com", "rsys2.net", "rsys5.net", "emarsys.net", "e-dialog.com", "ed10.net",
	"doubleclick.net", "eloqua.com", "en25.com", "cheetahmail.com", "chtah.com",
	"lyris.net", "topica.com", "digitalimpact.com", "m0.net", "yesmail.com",
	"postmarkapp.com", "pstmrk.it", "campaign-archive.com", "campaign-archive1.com",
	"campaign-archive2.com", "activehosted.com", "acemlna.com", "acemlnb.com",
	"emltrk.com", "dartmail.net", "bfi0.com", "clickaction.net", "returnpath.net",
	"mkt.com", "marketo.com", "mktoweb.com", "mktomail.com", "sfmc-content.com",
	"salesforce.com", "braze.com", "braze.eu", "appboy.com", "urldefense.com",
	"urldefense.proofpoint.com", "safelinks.protection.outlook.com", "mimecast.com",
	"mimecastprotect.com", "messagelabs.com", "linkprotect.cudasvc.com", "trk.klclick.com",
	"smtp2go.com", "elasticemail.com", "mailpoet.com", "omnisend.com", "drip.com",
	"getdrip.com", "intercom-mail.com", "intercom.io", "zendesk.com", "freshdesk.com",
	"wufoo.com", "ccsend.com", "myemma.com", "e2ma.net", "benchmarkemail.com",
	"bmetrack.com", "mailster.co", "moosend.com", "sendy.co", "tinyletter.com",
)

// freemail are mailbox providers anyone can sign up with.
var freemail = set(
	"gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com",
	"hotmail.com", "outlook.com", "live.com", "msn.com", "aol.com", "aim.com",
	"icloud.com", "me.com", "mac.com", "gmx.com", "gmx.de", "gmx.net", "gmx.at",
	"web.de", "mail.com", "protonmail.com", "proton.me", "pm.me", "tutanota.com",
	"tuta.io", "zoho.com", "zohomail.com", "yandex.ru", "yandex.com", "mail.ru",
	"inbox.ru", "list.ru", "bk.ru", "qq.com", "163.com", "126.com", "sina.com",
	"naver.com", "libero.it", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net",
	"t-online.de", "rediffmail.com", "fastmail.com", "hushmail.com", "excite.com",
	"lycos.com", "netscape.net", "juno.com", "earthlink.net", "comcast.net",
	"seznam.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl", "rambler.ru", "gmx.fr",
	"hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it", "hotmail.es",
	"yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.it", "yahoo.es", "yahoo.co.jp",
	"outlook.fr", "outlook.de", "live.co.uk", "live.fr", "btinternet.com", "virgilio.it",
)

// hostIn returns the entry of list that host (punycode) is or is below.
func hostIn(host string, list map[string]bool) (string, bool) {
	for s := host; s != ""; {
		if list[s] {
			return s, true
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	return "", false
}

func isESP(h host) bool {
	_, ok := hostIn(h.ascii, esps)
	return ok
}

func isFreemail(h host) bool {
	if h.rd == "" {
		return false
	}
	if freemail[h.rd] {
		return true
	}
	switch h.label {
	case "yahoo", "hotmail", "gmx", "outlook", "aol":
		return !h.private
	}
	return false
}

// hosting classifies the host of a URL: free hosting, IPFS, or user
// content; "" for none.
func hosting(u *urls.URL) (name, detail string) {
	h := u.HostASCII
	if isIPFS(u) {
		return FindIPFS, u.Host
	}
	if e, ok := hostIn(h, freeHosting); ok {
		return FindFreeHosting, hostDetail(u, e)
	}
	if strings.HasSuffix(h, ".amazonaws.com") && strings.Contains(h, "s3") {
		return FindFreeHosting, u.Host
	}
	if e, ok := hostIn(h, userContent); ok {
		if paths, ok := shareListPaths[e]; ok && !hasPathPrefix(u.Path, paths) {
			return "", ""
		}
		return FindUserContent, hostDetail(u, e)
	}
	for e, paths := range shareListPaths {
		if (h == e || strings.HasSuffix(h, "."+e)) && hasPathPrefix(u.Path, paths) {
			return FindUserContent, hostDetail(u, e)
		}
	}
	return "", ""
}

func hostDetail(u *urls.URL, entry string) string {
	if u.HostASCII == entry {
		return u.Host
	}
	return u.Host + " (" + entry + ")"
}

func hasPathPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// isIPFS reports a gateway host, a content identifier in the host
// ("bafy....ipfs.dweb.link") or an /ipfs/ or /ipns/ path with one.
func isIPFS(u *urls.URL) bool {
	if _, ok := hostIn(u.HostASCII, ipfsGateways); ok {
		return true
	}
	first := u.HostASCII
	if i := strings.IndexByte(first, '.'); i >= 0 {
		first = first[:i]
	}
	if isCID(first) {
		return true
	}
	for _, pre := range []string{"/ipfs/", "/ipns/"} {
		if rest, ok := strings.CutPrefix(u.Path, pre); ok {
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				rest = rest[:i]
			}
			if isCID(rest) || pre == "/ipns/" && strings.Contains(rest, ".") {
				return true
			}
		}
	}
	return false
}

// isCID recognises IPFS content identifiers: CIDv0 ("Qm" and 44 base58
// characters) and base32 CIDv1 ("bafy", "bafk").
func isCID(s string) bool {
	switch {
	case len(s) == 46 && strings.HasPrefix(s, "Qm"):
		return true
	case len(s) >= 50 && (strings.HasPrefix(strings.ToLower(s), "bafy") || strings.HasPrefix(strings.ToLower(s), "bafk")):
		return true
	}
	return false
}
