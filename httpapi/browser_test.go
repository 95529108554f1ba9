package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kithhq/kith/workflows"
)

// browser starts headless Chromium (Debian's chromium) with the flags that work on
// a closed network. A missing chromium fails the test with the command that
// installs it, like every other missing dependency (make test installs it).
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run `tools/prereqs.sh chromium` (or `sudo apt-get install -y chromium`)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

func TestFormPageShowsInlineErrorsUntilCorrected(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	ctx := browser(t)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	textOf := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.TextContent(css(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	waitFor := func(what, expr string) {
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}

	setValue := func(id, v string) {
		js := fmt.Sprintf(`(document.getElementById(%q).value = %q) === %q`, id, v, v)
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil || !ok {
			t.Fatalf("set %s: %v", id, err)
		}
	}

	// A new visitor sees step 1 (email), then step 2 (phone and birth date).
	if err := chromedp.Do(ctx,
		chromedp.Navigate(k.URL+"/forms/profile"),
		chromedp.WaitVisible(css("#field-email")),
		chromedp.SendKeys(css("#field-email"), `"Hamilton, Margaret" <margaret@example.com>`),
		chromedp.Click(css("#next")),
		chromedp.WaitVisible(css("#field-phone")),
		chromedp.SendKeys(css("#field-phone"), "+47 12"),
		chromedp.Click(css("#field-birth_date")), // leaving the phone checks it
	); err != nil {
		t.Fatal(err)
	}
	// The pasted "Name <addr>" was repaired in the field, and the form says so.
	waitFor("the repaired email", `document.getElementById("field-email").value === "margaret@example.com"`)
	if note := textOf("#note-email"); !strings.Contains(note, "Read as margaret@example.com") {
		t.Errorf("repair note %q", note)
	}
	waitFor("the inline phone error", `document.getElementById("error-phone").textContent !== ""`)
	if msg := textOf("#error-phone"); !strings.Contains(msg, "not a valid number") {
		t.Errorf("inline phone error %q", msg)
	}

	// Corrected, the error goes and the step is accepted.
	setValue("field-phone", "")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(css("#field-phone"), "+47 412 34 567"),
		chromedp.Click(css("#field-birth_date")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("the phone error to clear", `document.getElementById("error-phone").textContent === ""`)
	setValue("field-birth_date", "1990-12-10") // a date input takes keys in the browser's locale
	if err := chromedp.Do(ctx,
		chromedp.Click(css("#consent-personalization")),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#done")),
	); err != nil {
		t.Fatal(err)
	}
	// 55 from what she typed, and half of the country's 10 for the one her
	// phone's prefix implies (inferred, so it is asked again later).
	if got := textOf("#done-text"); !strings.Contains(got, "60% complete") {
		t.Errorf("done text %q", got)
	}
	var phone string
	if err := k.Store.DB().Get(&phone, `SELECT phone FROM contacts WHERE email = 'margaret@example.com'`); err != nil || phone != "+4741234567" {
		t.Errorf("stored phone %q (%v)", phone, err)
	}
}

// TestClaimLinkAppliesOnlyInTheBrowserThatMadeIt: a returning person on a new
// device fills in the hosted form with their own email; the form says a link was
// sent; the link opened in another browser applies nothing, opened in the same
// browser it saves the answers.
func TestClaimLinkAppliesOnlyInTheBrowserThatMadeIt(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{"submission_id": "old-device-sub-1",
		"fields": map[string]string{"email": "ada.b@example.com", "phone": "+47 412 34 567"}, "consents": consentsGiven}, &res); code != 200 {
		t.Fatalf("first submission answered %d", code)
	}
	phone := func() string {
		var p string
		if err := k.Store.DB().Get(&p, `SELECT phone FROM contacts WHERE id = $1`, res.ContactID); err != nil {
			t.Fatal(err)
		}
		return p
	}
	same, other := browser(t), browser(t)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	if err := chromedp.Do(same,
		chromedp.Navigate(k.URL+"/forms/profile"),
		chromedp.WaitVisible(css("#field-email")),
		chromedp.SendKeys(css("#field-email"), "ada.b@example.com"),
		chromedp.Click(css("#next")),
		chromedp.WaitVisible(css("#field-phone")),
		chromedp.SendKeys(css("#field-phone"), "+47 465 00 000"),
		chromedp.Click(css("#consent-personalization")),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#done")),
	); err != nil {
		t.Fatal(err)
	}
	done, err := chromedp.Run(same, chromedp.TextContent(css("#done-text")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(done, "open the link in this browser") || phone() != "+4741234567" {
		t.Fatalf("after the new device's submission: %q, phone %s", done, phone())
	}
	link := k.claimLink(t, res.ContactID)
	textAfter := func(ctx context.Context, url string) string {
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		s, err := chromedp.Run(ctx, chromedp.Text(css("body")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	body := textAfter(other, link)
	if !strings.Contains(body, "This link is not valid") || phone() != "+4741234567" {
		t.Errorf("the link in another browser: %q, phone %s; want not valid and nothing applied", body, phone())
	}
	if body = textAfter(same, link); !strings.Contains(body, "Your answers are saved") || phone() != "+4746500000" {
		t.Errorf("the link in the same browser: %q, phone %s; want saved and the new phone", body, phone())
	}
}

// trackerPage is a site that embeds tracker.js with the documented snippet.
const trackerPage = `<!doctype html><html><head><meta charset="utf-8"><title>Landing</title>
<script>
window.kith = window.kith || function () { (kith.q = kith.q || []).push(arguments); };
window.dataLayer = [{event: "view_item", ecommerce: {items: [{item_id: "SKU-1"}]}}];
kith("init", {host: %q, writeKey: %q, dataLayerEvents: ["view_item", "add_to_cart"], flushEvery: 300%s});
</script>
<script async src="%s/static/tracker.js"></script></head>
<body><h1>Landing</h1><a href="#pricing" id="cta" data-kith-track="CTA Clicked" data-kith-plan="pro">Try it</a>
<div style="height: 5000px"></div><p id="end">end</p></body></html>`

// onTrackedSite opens, in a new headless Chromium, a site (another origin than
// Kith's) that embeds tracker.js with extra init options, once the tracker has
// loaded; run evaluates JavaScript on it.
func onTrackedSite(t *testing.T, k *kithEnv, options string) (ctx context.Context, run func(string)) {
	t.Helper()
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, trackerPage, k.URL, webWriteKey, options, k.URL)
	}))
	t.Cleanup(site.Close)
	ctx = browser(t)
	run = func(expr string) {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(site.URL+"/landing"), chromedp.WaitVisible(chromedp.CSS("#cta"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(window.kith && window.kith.loaded)`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatal(err)
	}
	return ctx, run
}

// TestTrackerCollectsPageClicksScrollAndDataLayer: on a site with tracker.js,
// navigating (also by the history API), scrolling to the bottom, clicking a
// marked link and a dataLayer push produce page, click, scroll-depth and track
// events with one anonymous id; the hosted form submitted in the same browser
// then links them to the contact.
func TestTrackerCollectsPageClicksScrollAndDataLayer(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	ctx, js := onTrackedSite(t, k, "")
	js(`window.scrollTo(0, document.body.scrollHeight); true`)
	// The browser sends scroll events on its next frame: wait for it to
	// have sent them before the click scrolls the link back into view.
	scrolled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(window.scrollY > 0))))`,
		chromedp.EvalAwaitPromise))
	if err != nil || !scrolled {
		t.Fatalf("the page did not scroll: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#cta"))); err != nil {
		t.Fatal(err)
	}
	js(`dataLayer.push({event: "add_to_cart", value: 12}); dataLayer.push({event: "gtm.js"}); true`)
	js(`history.pushState({}, "", "/step-2"); true`)
	types := func() map[string]int {
		var rows []struct {
			Type string `db:"type"`
			N    int    `db:"n"`
		}
		k.Store.DB().Select(&rows, `SELECT type, count(*) AS n FROM events WHERE write_source = 'web' GROUP BY type`)
		out := map[string]int{}
		for _, r := range rows {
			out[r.Type] = r.N
		}
		return out
	}
	defer func() {
		if t.Failed() {
			t.Logf("stored: %v", types())
			var q []string
			k.Store.DB().Select(&q, `SELECT convert_from(payload, 'UTF8') || ' ' || violations::text FROM quarantine`)
			t.Logf("quarantine: %v", q)
		}
	}()
	eventually(t, "the tracker's events", func() bool {
		got := types()
		return got["page"] == 2 && got["CTA Clicked"] == 1 && got["Scroll Depth"] == 4 && got["add_to_cart"] == 1 && got["view_item"] == 1
	})
	got := types()
	delete(got, "Engaged Time") // a ping, when the test ran longer than its interval
	if got["gtm.js"] != 0 || len(got) != 5 {
		t.Errorf("event types %v; want only page, CTA Clicked, Scroll Depth, view_item, add_to_cart", got)
	}
	var anon []string
	k.Store.DB().Select(&anon, `SELECT DISTINCT anonymous_id FROM events WHERE write_source = 'web'`)
	if len(anon) != 1 || anon[0] == "" {
		t.Fatalf("anonymous ids %v, want one", anon)
	}
	var plan, path string
	k.Store.DB().QueryRow(`SELECT properties->>'plan' FROM events WHERE type = 'CTA Clicked'`).Scan(&plan)
	k.Store.DB().QueryRow(`SELECT context->'page'->>'path' FROM events WHERE type = 'page' ORDER BY occurred_at DESC LIMIT 1`).Scan(&path)
	if plan != "pro" || path != "/step-2" {
		t.Errorf("click plan %q, last page path %q", plan, path)
	}

	// The same browser fills in the hosted form: the tracker's visitor becomes the contact.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(k.URL+"/forms/profile"),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "tracked@example.com"),
		chromedp.Click(chromedp.CSS("#next")),
		chromedp.WaitVisible(chromedp.CSS("#field-phone")),
		chromedp.Click(chromedp.CSS("#consent-personalization")),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#done")),
	); err != nil {
		t.Fatal(err)
	}
	var contact string
	if err := k.Store.DB().Get(&contact, `SELECT id::text FROM contacts WHERE email = 'tracked@example.com'`); err != nil {
		t.Fatal(err)
	}
	all := k.count(t, `SELECT count(*) FROM events WHERE anonymous_id = $1`, anon[0])
	if n := k.count(t, `SELECT count(*) FROM events WHERE anonymous_id = $1 AND contact_id = $2`, anon[0], contact); n != all || n < 9 {
		t.Errorf("%d of the visitor's %d events belong to the contact after the form, want all", n, all)
	}
}

// TestTrackerWaitsForConsent: a site that asks for consent first sends nothing
// before it; kith("consent", false) stops tracking and drops what was queued.
func TestTrackerWaitsForConsent(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	_, run := onTrackedSite(t, k, ", requireConsent: true")
	run(`dataLayer.push({event: "add_to_cart"}); true`)
	time.Sleep(time.Second)
	if n := k.count(t, `SELECT count(*) FROM events`); n != 0 {
		t.Fatalf("%d events sent before consent", n)
	}
	// With consent, the page view and the site's dataLayer so far (replayed).
	run(`kith("consent", true); true`)
	eventually(t, "the page view and the dataLayer after consent", func() bool {
		return k.count(t, `SELECT count(*) FROM events`) == 3 && k.count(t, `SELECT count(*) FROM events WHERE type = 'page'`) == 1
	})
	run(`kith("consent", false); kith("track", "After Withdrawal"); dataLayer.push({event: "add_to_cart"}); true`)
	time.Sleep(time.Second)
	if n := k.count(t, `SELECT count(*) FROM events`); n != 3 {
		t.Errorf("%d events, want the 3 sent with consent and none after it was withdrawn", n)
	}
}
