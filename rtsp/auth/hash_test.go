package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"reflect"
	"strings"
	"testing"
)

func TestHashPassword(t *testing.T) {
	s, err := HashPassword("admin", "", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "ipcamd1$100000$") || strings.Count(s, "$") != 5 {
		t.Errorf("HashPassword = %q", s)
	}
	h, err := ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	if h.Iterations != DefaultIterations || len(h.Salt) != saltLen || len(h.Key) != keyLen {
		t.Errorf("ParseHash = %+v", h)
	}
	if h.MD5 != md5.Sum([]byte("admin:ipcamd:s3cret")) {
		t.Errorf("MD5 HA1 %x", h.MD5)
	}
	if h.SHA256 != sha256.Sum256([]byte("admin:ipcamd:s3cret")) {
		t.Errorf("SHA-256 HA1 %x", h.SHA256)
	}
	if !h.checkPassword("s3cret") || h.checkPassword("s3cret ") || h.checkPassword("") {
		t.Error("checkPassword")
	}
	if h.String() != s {
		t.Errorf("String = %q, want %q", h.String(), s)
	}
	if s2, _ := HashPassword("admin", "", "s3cret"); s2 == s {
		t.Error("two hashes of the same password are equal: salt not random")
	}
	h2, err := newHash("admin", "cam", "s3cret", testIterations)
	if err != nil || h2.MD5 != md5.Sum([]byte("admin:cam:s3cret")) || h2.Iterations != testIterations {
		t.Errorf("newHash with realm: %+v, %v", h2, err)
	}
}

func TestHashPasswordErrors(t *testing.T) {
	tests := []struct {
		user, realm, password, err string
	}{
		{"", "", "p", "empty user name"},
		{"a:b", "", "p", "colon"},
		{`a"b`, "", "p", "double quote"},
		{`a\b`, "", "p", "backslash"},
		{"a\x00b", "", "p", "control character"},
		{"a\u0085b", "", "p", "control character"},
		{"a\xffb", "", "p", "not valid UTF-8"},
		{"u", `r"`, "p", `realm "r\""`},
		{"u", "r\t", "p", "realm"},
		{"u", "", "", "empty password"},
	}
	for _, tt := range tests {
		s, err := HashPassword(tt.user, tt.realm, tt.password)
		if err == nil || !strings.HasPrefix(err.Error(), "auth: ") || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("HashPassword(%q, %q, %q) = %q, %v; want error containing %q", tt.user, tt.realm, tt.password, s, err, tt.err)
		}
	}
	if _, err := HashPassword("ümlaut user", "Kamera Küche", "p"); err != nil {
		t.Errorf("UTF-8 names: %v", err)
	}
}

func TestParseHashErrors(t *testing.T) {
	good := testHash(t, "u", "", "p")
	f := strings.Split(good, "$")
	with := func(i int, v string) string {
		g := append([]string(nil), f...)
		g[i] = v
		return strings.Join(g, "$")
	}
	tests := []struct {
		in, err string
	}{
		{"", `not an "ipcamd1$" hash`},
		{"hunter2", `not an "ipcamd1$" hash`},
		{"$2y$10$abcdefghijklmnopqrstuv", `not an "ipcamd1$" hash`},
		{with(0, "ipcamd2"), `not an "ipcamd1$" hash`},
		{good + "$", "7 fields, want 6"},
		{strings.Join(f[:5], "$"), "5 fields, want 6"},
		{with(1, ""), "iteration count"},
		{with(1, "0"), "iteration count"},
		{with(1, "-1"), "iteration count"},
		{with(1, "+16"), "iteration count"},
		{with(1, "016"), "iteration count"},
		{with(1, "10000001"), "iteration count"},
		{with(1, "1e5"), "iteration count"},
		{with(2, ""), "salt"},
		{with(2, "AAAAAAAAAA"), "salt"}, // 7 bytes
		{with(2, f[2]+"=="), "salt"},
		{with(2, strings.Repeat("A", 88)), "salt"}, // 66 bytes
		{with(3, f[3][:42]), "key"},
		{with(3, f[3]+"A"), "key"},
		{with(3, strings.ReplaceAll(f[3], f[3][:1], "-")), "key"},
		{with(4, f[4][:31]), "MD5 HA1"},
		{with(4, strings.ToUpper(f[4])+strings.Repeat("0", 32-len(f[4]))), "MD5 HA1"},
		{with(4, strings.Repeat("g", 32)), "MD5 HA1"},
		{with(5, f[4]), "SHA-256 HA1"},
	}
	for _, tt := range tests {
		h, err := ParseHash(tt.in)
		if err == nil {
			t.Errorf("ParseHash(%q) = %+v, want error", tt.in, h)
			continue
		}
		if !strings.HasPrefix(err.Error(), "auth: malformed password hash: ") || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseHash(%q): %v, want error containing %q", tt.in, err, tt.err)
		}
		if !reflect.DeepEqual(h, Hash{}) {
			t.Errorf("ParseHash(%q) returned %+v with an error", tt.in, h)
		}
	}
	if _, err := ParseHash("hunter2"); strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q quotes a plain-text password", err)
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add(testHash(f, "u", "", "p"))
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err != nil {
			return
		}
		if h.Iterations < 1 || len(h.Salt) < minSaltLen || len(h.Key) != keyLen {
			t.Fatalf("ParseHash(%q) accepted %+v", s, h)
		}
		// Only the canonical encoding is accepted.
		if h.String() != s {
			t.Fatalf("ParseHash(%q).String() = %q", s, h.String())
		}
	})
}
