package e2e_test

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshot saves a PNG of url into path with headless Chromium: how the README's
// pictures of the Temporal UI are made (KITH_SCREENSHOTS=docs/img go test ./e2e).
func screenshot(t *testing.T, url, path string) {
	t.Helper()
	ctx, cancel := chrome(t)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.Sleep(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
