package quality_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/kithhq/kith/quality"
)

// TestInternationalizedEmail: RFC 6531 local parts in every script people
// write them in, with IDN domains stored as punycode.
func TestInternationalizedEmail(t *testing.T) {
	tests := []struct{ class, in, want string }{
		{"cyrillic", "Пользователь@пример.рф", "пользователь@xn--e1afmkfd.xn--p1ai"},
		{"cyrillic, ascii domain", "иван.петров@example.com", "иван.петров@example.com"},
		{"greek", "χρήστης@παράδειγμα.ελ", "χρήστης@xn--hxajbheg2az3al.xn--qxam"},
		{"cjk", "用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"},
		{"japanese", "ユーザー@example.jp", "ユーザー@example.jp"},
		{"thai", "ผู้ใช้@ตัวอย่าง.ไทย", "ผู้ใช้@xn--72c1a1bt4awk9o.xn--o3cw4h"},
		{"arabic", "مستخدم@مثال.شبكة", "مستخدم@xn--mgbh0fb.xn--ngbc5azd"},
		{"hebrew", "משתמש@דוגמה.קום", "משתמש@xn--6dbbec0c.xn--9dbq2a"},
		{"devanagari", "उपयोगकर्ता@उदाहरण.भारत", "उपयोगकर्ता@xn--p1b6ci4b4b3a.xn--h2brj9c"},
		{"accented latin", "José.Müller@Exämple.de", "josé.müller@xn--exmple-cua.de"},
		{"decomposed accents are composed (NFC)", "jose\u0301@example.com", "josé@example.com"},
		{"ascii local, idn domain", "info@münchen.de", "info@xn--mnchen-3ya.de"},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			got, vs := quality.Email(tt.in)
			if got != tt.want || vs.Rejects() {
				t.Fatalf("Email(%q) = %q %v, want %q", tt.in, got, codes(vs), tt.want)
			}
			local, _, _ := strings.Cut(tt.want, "@")
			if utf8Local := strings.ContainsFunc(local, func(r rune) bool { return r >= 0x80 }); slices.Contains(codes(vs), "smtputf8") != utf8Local {
				t.Errorf("Email(%q): warnings %v, smtputf8 wanted: %v", tt.in, codes(vs), utf8Local)
			}
			if again, _ := quality.Email(got); again != got {
				t.Errorf("not idempotent: %q → %q", got, again)
			}
		})
	}
	for _, bad := range []string{"用户 名@example.com", "ad😀a@example.com", `"用户"@example.com`, "user@[IPv6:2001:db8::1]", "мы@.рф"} {
		if got, vs := quality.Email(bad); !vs.Rejects() {
			t.Errorf("Email(%q) = %q %v, want a rejection", bad, got, codes(vs))
		}
	}
}

// TestEmailRepairs: each wrapping people and exports put around one address
// is taken off with its own warning code; several addresses or none are
// rejected with theirs.
func TestEmailRepairs(t *testing.T) {
	tests := []struct{ in, want, code string }{
		{"\u00a0ada@example.com\u00a0", "ada@example.com", "email_whitespace_trimmed"},
		{"ada@example.com\r\n", "ada@example.com", "email_whitespace_trimmed"},
		{"\tada@example.com\n", "ada@example.com", "email_whitespace_trimmed"},
		{"ada\u200b@exam\u200cple.com", "ada@example.com", "email_invisible_removed"},
		{"ada\u00ad.lovelace@example.com", "ada.lovelace@example.com", "email_invisible_removed"},
		{"\ufeffada@example.com", "ada@example.com", "email_invisible_removed"},
		{"<ada@example.com>", "ada@example.com", "email_brackets_removed"},
		{"Ada Lovelace <ada@example.com>", "ada@example.com", "email_display_name_removed"},
		{`"Lovelace, Ada" <ada@example.com>`, "ada@example.com", "email_display_name_removed"},
		{"mailto:ada@example.com", "ada@example.com", "email_mailto_removed"},
		{"MAILTO:ada@example.com?subject=Hi", "ada@example.com", "email_mailto_removed"},
		{"Email: ada@example.com", "ada@example.com", "email_label_removed"},
		{"E-mail address: ada@example.com", "ada@example.com", "email_label_removed"},
		{"ada@example.com.", "ada@example.com", "email_trailing_punctuation_removed"},
		{"ada@example.com,", "ada@example.com", "email_trailing_punctuation_removed"},
		{"ada@example.com (work)", "ada@example.com", "email_comment_removed"},
		{`"ada@example.com"`, "ada@example.com", "email_quotes_removed"},
		{"'ada@example.com'", "ada@example.com", "email_quotes_removed"},
		{"“ada@example.com”", "ada@example.com", "email_quotes_removed"},
		{"«ada@example.com»", "ada@example.com", "email_quotes_removed"},
		{"ada%40example.com", "ada@example.com", "email_at_decoded"},
		{"ada&#64;example.com", "ada@example.com", "email_at_decoded"},
		{"ada＠example.com", "ada@example.com", "email_at_decoded"},
		{"Contact: <mailto:ada@example.com>.", "ada@example.com", "email_label_removed"},
		{"ada@example.com, bob@example.com", "", "multiple_emails"},
		{"ada@example.com; bob@example.com", "", "multiple_emails"},
		{"ada@example.com bob@example.com", "", "multiple_emails"},
		{"n/a", "", "no_email_address"},
		{"", "", "no_email_address"},
		{"Ada Lovelace", "", "no_email_address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, vs := quality.Email(tt.in)
			if got != tt.want || !slices.Contains(codes(vs), tt.code) {
				t.Fatalf("Email(%q) = %q %v, want %q with %s", tt.in, got, codes(vs), tt.want, tt.code)
			}
			if tt.want == "" {
				return
			}
			if vs.Rejects() {
				t.Errorf("Email(%q) repaired but rejected: %v", tt.in, codes(vs))
			}
			if again, vs := quality.Email(got); again != got || len(vs) > 0 {
				t.Errorf("the repaired %q standardizes again to %q %v", got, again, codes(vs))
			}
		})
	}
}

// TestCountriesInTheirOwnLanguages: countries as their people write them
// (CLDR's names in each country's languages), official long forms, and names
// in the languages lists are often written in.
func TestCountriesInTheirOwnLanguages(t *testing.T) {
	for in, want := range map[string]string{
		"République française": "FR", "France": "FR", "Deutschland": "DE", "España": "ES", "Österreich": "AT",
		"Schweiz": "CH", "Suisse": "CH", "Svizzera": "CH", "België": "BE", "Belgique": "BE", "Nederland": "NL",
		"Italia": "IT", "Portugal": "PT", "Polska": "PL", "Česko": "CZ", "Magyarország": "HU", "România": "RO",
		"Ελλάδα": "GR", "ΕΛΛΆΔΑ": "GR", "Κύπρος": "CY", "Türkiye": "TR", "KIBRIS": "CY", "Россия": "RU", "Україна": "UA",
		"日本": "JP", "中国": "CN", "대한민국": "KR", "ประเทศไทย": "TH", "ישראל": "IL", "مصر": "EG",
		"Suomi": "FI", "Sverige": "SE", "Norge": "NO", "Danmark": "DK", "Éire": "IE", "Brasil": "BR",
		"Frankreich": "FR", "Allemagne": "DE", "Alemania": "DE", "Germania": "DE", "Duitsland": "DE",
		"Bundesrepublik Deutschland": "DE", "Reino de España": "ES", "Confédération suisse": "CH",
	} {
		if got, vs := quality.Country(in); got != want {
			t.Errorf("Country(%q) = %q %v, want %s", in, got, codes(vs), want)
		}
	}
}
