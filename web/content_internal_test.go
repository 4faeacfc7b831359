package web

import (
	"mime"
	"testing"
)

// contentDisposition must be safe for any name, even ones the vault's name
// rules would refuse (backslashes, controls): the fallback needs no
// unescaping, and filename* carries the exact name.
func TestContentDisposition(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"plain.pdf", `attachment; filename="plain.pdf"; filename*=UTF-8''plain.pdf`},
		{`a"b\c%d.pdf`, `attachment; filename="a_b_c_d.pdf"; filename*=UTF-8''a%22b%5Cc%25d.pdf`},
		{"tab\tnew\nline.pdf", `attachment; filename="tab_new_line.pdf"; filename*=UTF-8''tab%09new%0Aline.pdf`},
		{"Mémoire.pdf", `attachment; filename="M_moire.pdf"; filename*=UTF-8''M%C3%A9moire.pdf`},
		{"semi;colon=eq,comma (1).pdf", `attachment; filename="semi;colon=eq,comma (1).pdf"; filename*=UTF-8''semi%3Bcolon%3Deq%2Ccomma%20%281%29.pdf`},
	} {
		got := contentDisposition("attachment", tt.name)
		if got != tt.want {
			t.Errorf("contentDisposition(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if _, params, err := mime.ParseMediaType(got); err != nil || params["filename"] != tt.name {
			t.Errorf("%q parses to %q, %v; want the exact name", got, params["filename"], err)
		}
	}
}
