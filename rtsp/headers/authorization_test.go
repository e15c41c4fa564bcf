package headers

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAuthorizationUnmarshal(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      Authorization
		canonical string // Marshal output when it differs from in
	}{
		{
			name: "ffmpeg basic",
			in:   "Basic YWRtaW46c2VjcmV0",
			want: Authorization{Scheme: SchemeBasic, User: "admin", Password: "secret"},
		},
		{
			name:      "basic colon in password, lower-case scheme, no padding",
			in:        "basic dTpwOnc",
			want:      Authorization{Scheme: SchemeBasic, User: "u", Password: "p:w"},
			canonical: "Basic dTpwOnc=",
		},
		{
			name: "basic empty user and password",
			in:   "Basic Og==",
			want: Authorization{Scheme: SchemeBasic},
		},
		{
			// libavformat/httpauth.c: algorithm and qop quoted, nc last.
			name: "ffmpeg digest qop=auth",
			in: `Digest username="admin", realm="ipcamd", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c0", ` +
				`uri="rtsp://192.168.1.10:554/main", response="6629fae49393a05397450978507c4ef1", ` +
				`algorithm="MD5", qop="auth", cnonce="0a4f113b0a4f113b", nc=00000001`,
			want: Authorization{Scheme: SchemeDigest, Digest: DigestParams{
				Username: "admin", Realm: "ipcamd", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c0",
				URI: "rtsp://192.168.1.10:554/main", Response: "6629fae49393a05397450978507c4ef1",
				Algorithm: "MD5", QOP: "auth", NC: "00000001", CNonce: "0a4f113b0a4f113b",
			}},
			canonical: `Digest username="admin", realm="ipcamd", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c0", ` +
				`uri="rtsp://192.168.1.10:554/main", response="6629fae49393a05397450978507c4ef1", ` +
				`algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b0a4f113b"`,
		},
		{
			// live555 (VLC, openRTSP) and GStreamer: RFC 2069, no qop.
			name: "live555 digest",
			in: `Digest username="admin", realm="ipcamd", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c0", ` +
				`uri="rtsp://192.168.1.10:554/main/trackID=0", response="0b4a7a2b6e0a1f5c1a6e0e1e8b5e6c3d"`,
			want: Authorization{Scheme: SchemeDigest, Digest: DigestParams{
				Username: "admin", Realm: "ipcamd", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c0",
				URI: "rtsp://192.168.1.10:554/main/trackID=0", Response: "0b4a7a2b6e0a1f5c1a6e0e1e8b5e6c3d",
			}},
		},
		{
			name: "gstreamer digest with opaque",
			in: `Digest username="viewer", realm="ipcamd", nonce="abc", uri="rtsp://cam/main", ` +
				`response="d41d8cd98f00b204e9800998ecf8427e", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
			want: Authorization{Scheme: SchemeDigest, Digest: DigestParams{
				Username: "viewer", Realm: "ipcamd", Nonce: "abc", URI: "rtsp://cam/main",
				Response: "d41d8cd98f00b204e9800998ecf8427e", Opaque: "5ccc069c403ebaf9f0171e9517f40e41",
			}},
		},
		{
			// gortsplib v4 pkg/auth: algorithm quoted, no qop.
			name: "gortsplib digest sha-256",
			in: `Digest username="admin", realm="ipcamd", nonce="n0nce", uri="rtsp://127.0.0.1:8554/main", ` +
				`response="b0a4d3ed8ad4a61bb29dcfc1c2e1d9a3c8c4b3e3f0e2f5ab6b7c8d9e0f1a2b3c", algorithm="SHA-256"`,
			want: Authorization{Scheme: SchemeDigest, Digest: DigestParams{
				Username: "admin", Realm: "ipcamd", Nonce: "n0nce", URI: "rtsp://127.0.0.1:8554/main",
				Response:  "b0a4d3ed8ad4a61bb29dcfc1c2e1d9a3c8c4b3e3f0e2f5ab6b7c8d9e0f1a2b3c",
				Algorithm: "SHA-256",
			}},
			canonical: `Digest username="admin", realm="ipcamd", nonce="n0nce", uri="rtsp://127.0.0.1:8554/main", ` +
				`response="b0a4d3ed8ad4a61bb29dcfc1c2e1d9a3c8c4b3e3f0e2f5ab6b7c8d9e0f1a2b3c", algorithm=SHA-256`,
		},
		{
			// RFC 7616 §3.9.1, folded lines joined by the message parser.
			name: "rfc 7616 example",
			in: `Digest username="Mufasa",  realm="http-auth@example.org",  uri="/dir/index.html", ` +
				` algorithm=SHA-256,  nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",  nc=00000001, ` +
				` cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",  qop=auth, ` +
				` response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ` +
				` opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			want: Authorization{Scheme: SchemeDigest, Digest: DigestParams{
				Username: "Mufasa", Realm: "http-auth@example.org", Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
				URI: "/dir/index.html", Response: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
				Algorithm: "SHA-256", QOP: "auth", NC: "00000001", CNonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
				Opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
			}},
			canonical: `Digest username="Mufasa", realm="http-auth@example.org", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ` +
				`uri="/dir/index.html", response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ` +
				`algorithm=SHA-256, qop=auth, nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", ` +
				`opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
		},
		{
			name: "unquoted values, odd spacing, unknown params, upper-case names",
			in: `  DIGEST  USERNAME = bob ,realm=ipcamd,,nonce=a+b/c==, uri=*, response=ABCDEF, ` +
				`userhash=false, charset=UTF-8, qop="auth", nc="00000002", cnonce=xyz  `,
			want: Authorization{Scheme: SchemeDigest, Digest: DigestParams{
				Username: "bob", Realm: "ipcamd", Nonce: "a+b/c==", URI: "*", Response: "ABCDEF",
				QOP: "auth", NC: "00000002", CNonce: "xyz",
			}},
			canonical: `Digest username="bob", realm="ipcamd", nonce="a+b/c==", uri="*", response="ABCDEF", ` +
				`qop=auth, nc=00000002, cnonce="xyz"`,
		},
		{
			name: "quoted pairs and commas inside quotes",
			in:   `Digest username="J\"o\\e", realm="a, b", nonce="n", uri="rtsp://h/s?a=1,2", response="r"`,
			want: Authorization{Scheme: SchemeDigest, Digest: DigestParams{
				Username: `J"o\e`, Realm: "a, b", Nonce: "n", URI: "rtsp://h/s?a=1,2", Response: "r",
			}},
		},
		{
			name:      "empty quoted values",
			in:        `Digest username="", realm="", nonce="", uri="", response="", opaque=""`,
			want:      Authorization{Scheme: SchemeDigest},
			canonical: `Digest username="", realm="", nonce="", uri="", response=""`,
		},
	}
	for _, tt := range tests {
		var got Authorization
		if err := got.Unmarshal(tt.in); err != nil {
			t.Errorf("%s: Unmarshal: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Unmarshal =\n%+v, want\n%+v", tt.name, got, tt.want)
		}
		want := tt.canonical
		if want == "" {
			want = tt.in
		}
		if m := got.Marshal(); m != want {
			t.Errorf("%s: Marshal =\n%s, want\n%s", tt.name, m, want)
		}
	}
}

func TestAuthorizationUnmarshalErrors(t *testing.T) {
	const digest = `Digest username="u", realm="r", nonce="n", uri="/", response="x"`
	tests := []struct {
		in, err string
	}{
		{"", "missing authentication scheme"},
		{"   ", "missing authentication scheme"},
		{"Basic", "missing Basic credentials"},
		{"Basic ", "missing Basic credentials"},
		{"Basic !!!!", "not valid base64"},
		{"Basic YWRtaW46 c2VjcmV0", "not valid base64"},
		{"Basic YWRtaW4=", "lack a colon"},
		{"Bearer abc", "unsupported authentication scheme"},
		{`"Digest" username="u"`, "invalid authentication scheme"},
		{"Digest", "missing username parameter"},
		{`Digest realm="r", nonce="n", uri="/", response="x"`, "missing username parameter"},
		{`Digest username="u", nonce="n", uri="/", response="x"`, "missing realm parameter"},
		{`Digest username="u", realm="r", uri="/", response="x"`, "missing nonce parameter"},
		{`Digest username="u", realm="r", nonce="n", response="x"`, "missing uri parameter"},
		{`Digest username="u", realm="r", nonce="n", uri="/"`, "missing response parameter"},
		{digest + `, username="v"`, "duplicate username parameter"},
		{digest + `, Response=y`, "duplicate response parameter"},
		{digest + `, qop=auth`, "qop without nc and cnonce"},
		{digest + `, qop=auth, nc=00000001`, "qop without nc and cnonce"},
		{digest + `, qop=auth, cnonce="c"`, "qop without nc and cnonce"},
		{digest + `, opaque="abc`, "unterminated quoted string"},
		{digest + `, opaque="abc\"`, "unterminated quoted string"},
		{digest + `, opaque="a" b`, "text after quoted value"},
		{digest + `, opaque=a"b"`, "misplaced double quote"},
		{digest + `, opaque=`, `parameter "opaque" lacks a value`},
		{digest + `, opaque= ,`, `parameter "opaque" lacks a value`},
		{digest + `, stale`, `parameter "stale" lacks a value`},
		{digest + `, =x`, "missing parameter name"},
		{digest + `, Basic realm="x"`, `parameter "Basic" lacks a value`},
		{digest + "\r\nX-Injected: 1", "control character"},
		{"Basic YWRtaW46c2VjcmV0\x00", "control character"},
		{digest + ", opaque=\"\x7f\"", "control character"},
	}
	for _, tt := range tests {
		a := Authorization{Scheme: "keep"}
		err := a.Unmarshal(tt.in)
		if err == nil {
			t.Errorf("Unmarshal(%q) = %+v, want error", tt.in, a)
			continue
		}
		if !strings.HasPrefix(err.Error(), "rtsp: malformed Authorization header: ") ||
			!strings.Contains(err.Error(), tt.err) || a.Scheme != "keep" {
			t.Errorf("Unmarshal(%q): %v, receiver %+v; want error containing %q", tt.in, err, a, tt.err)
		}
	}
	var a Authorization
	if err := a.Unmarshal("Bearer abc"); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("Unmarshal(Bearer): %v, want ErrUnsupportedScheme", err)
	}
	// The credentials must not end up in logs through the error.
	if err := a.Unmarshal("Basic YWRtaW46c2VjcmV0 x"); err == nil || strings.Contains(err.Error(), "YWRtaW4") {
		t.Errorf("Unmarshal error %v quotes the credentials", err)
	}
}

func TestAuthorizationMarshal(t *testing.T) {
	tests := []struct {
		in   Authorization
		want string
	}{
		{Authorization{Scheme: SchemeBasic, User: "admin", Password: "p@ss:wörd"}, "Basic YWRtaW46cEBzczp3w7ZyZA=="},
		{
			Authorization{Scheme: SchemeDigest, Digest: DigestParams{
				Username: `a"b\c`, Realm: "ipcamd", Nonce: "n", URI: "rtsp://h/s", Response: "00",
				Algorithm: "MD5-sess", QOP: "auth int", NC: "1", CNonce: "c",
			}},
			`Digest username="a\"b\\c", realm="ipcamd", nonce="n", uri="rtsp://h/s", response="00", ` +
				`algorithm=MD5-sess, qop="auth int", nc=1, cnonce="c"`,
		},
	}
	for _, tt := range tests {
		if got := tt.in.Marshal(); got != tt.want {
			t.Errorf("Marshal(%+v) =\n%s, want\n%s", tt.in, got, tt.want)
		}
		var back Authorization
		if err := back.Unmarshal(tt.want); err != nil {
			t.Errorf("Unmarshal(%q): %v", tt.want, err)
		}
	}
}

func TestWWWAuthenticateUnmarshal(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      WWWAuthenticate
		canonical string
	}{
		{
			name: "basic",
			in:   `Basic realm="ipcamd"`,
			want: WWWAuthenticate{Scheme: SchemeBasic, Realm: "ipcamd"},
		},
		{
			name:      "basic with charset, digest params ignored",
			in:        `basic realm="ipcamd", charset="UTF-8", nonce="x"`,
			want:      WWWAuthenticate{Scheme: SchemeBasic, Realm: "ipcamd"},
			canonical: `Basic realm="ipcamd"`,
		},
		{
			name: "ipcamd md5",
			in:   `Digest realm="ipcamd", nonce="AAAAAAAAAAE", algorithm=MD5, qop="auth"`,
			want: WWWAuthenticate{Scheme: SchemeDigest, Realm: "ipcamd", Nonce: "AAAAAAAAAAE", Algorithm: "MD5", QOP: "auth"},
		},
		{
			name: "ipcamd sha-256 stale",
			in:   `Digest realm="ipcamd", nonce="AAAAAAAAAAE", stale=true, algorithm=SHA-256, qop="auth"`,
			want: WWWAuthenticate{Scheme: SchemeDigest, Realm: "ipcamd", Nonce: "AAAAAAAAAAE", Stale: true, Algorithm: "SHA-256", QOP: "auth"},
		},
		{
			// live555 RTSPServer.
			name: "live555",
			in:   `Digest realm="LIVE555 Streaming Media", nonce="a0e13d1c4ab2b1e1a8f3c5b6c7d8e9f0"`,
			want: WWWAuthenticate{Scheme: SchemeDigest, Realm: "LIVE555 Streaming Media", Nonce: "a0e13d1c4ab2b1e1a8f3c5b6c7d8e9f0"},
		},
		{
			// gortsplib/mediamtx server; gortsplib's own test vector.
			name:      "gortsplib stale FALSE quoted",
			in:        `Digest realm="4419b63f5e51", nonce="8b84a3b789283a8bea8da7fa7d41f08b", stale="FALSE"`,
			want:      WWWAuthenticate{Scheme: SchemeDigest, Realm: "4419b63f5e51", Nonce: "8b84a3b789283a8bea8da7fa7d41f08b"},
			canonical: `Digest realm="4419b63f5e51", nonce="8b84a3b789283a8bea8da7fa7d41f08b"`,
		},
		{
			// A typical camera (Hikvision style).
			name:      "camera stale=FALSE unquoted",
			in:        `Digest qop="auth", realm="IP Camera(C6271)", nonce="4d6a4e47513046474f4463364d6d51324e7a4d3d", stale="FALSE"`,
			want:      WWWAuthenticate{Scheme: SchemeDigest, Realm: "IP Camera(C6271)", Nonce: "4d6a4e47513046474f4463364d6d51324e7a4d3d", QOP: "auth"},
			canonical: `Digest realm="IP Camera(C6271)", nonce="4d6a4e47513046474f4463364d6d51324e7a4d3d", qop="auth"`,
		},
		{
			name: "rfc 7616 example",
			in: `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ` +
				`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			want: WWWAuthenticate{Scheme: SchemeDigest, Realm: "http-auth@example.org",
				Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", Opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
				Algorithm: "SHA-256", QOP: "auth, auth-int"},
			canonical: `Digest realm="http-auth@example.org", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ` +
				`opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", algorithm=SHA-256, qop="auth, auth-int"`,
		},
		{
			name:      "no realm, quoted algorithm",
			in:        `Digest nonce=abc, algorithm="MD5", stale=TRUE`,
			want:      WWWAuthenticate{Scheme: SchemeDigest, Nonce: "abc", Algorithm: "MD5", Stale: true},
			canonical: `Digest realm="", nonce="abc", stale=true, algorithm=MD5`,
		},
	}
	for _, tt := range tests {
		var got WWWAuthenticate
		if err := got.Unmarshal(tt.in); err != nil {
			t.Errorf("%s: Unmarshal: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Unmarshal =\n%+v, want\n%+v", tt.name, got, tt.want)
		}
		want := tt.canonical
		if want == "" {
			want = tt.in
		}
		if m := got.Marshal(); m != want {
			t.Errorf("%s: Marshal =\n%s, want\n%s", tt.name, m, want)
		}
	}
}

func TestWWWAuthenticateUnmarshalErrors(t *testing.T) {
	tests := []struct {
		in, err string
	}{
		{"", "missing authentication scheme"},
		{`Digest realm="ipcamd"`, "missing nonce parameter"},
		{`Digest realm="a", realm="b", nonce="n"`, "duplicate realm parameter"},
		{`Digest realm="ipcamd", nonce="n", Basic realm="ipcamd"`, `parameter "Basic" lacks a value`},
		{`Negotiate`, "unsupported authentication scheme"},
		{`Basic realm="ipcamd`, "unterminated quoted string"},
		{"Basic realm=\"a\nb\"", "control character"},
	}
	for _, tt := range tests {
		w := WWWAuthenticate{Realm: "keep"}
		err := w.Unmarshal(tt.in)
		if err == nil {
			t.Errorf("Unmarshal(%q) = %+v, want error", tt.in, w)
			continue
		}
		if !strings.HasPrefix(err.Error(), "rtsp: malformed WWW-Authenticate header ") ||
			!strings.Contains(err.Error(), tt.err) || w.Realm != "keep" {
			t.Errorf("Unmarshal(%q): %v, receiver %+v; want error containing %q", tt.in, err, w, tt.err)
		}
	}
}

func TestWWWAuthenticateMarshal(t *testing.T) {
	tests := []struct {
		in   WWWAuthenticate
		want string
	}{
		{WWWAuthenticate{Scheme: SchemeBasic, Realm: "ipcamd", Nonce: "ignored", Stale: true}, `Basic realm="ipcamd"`},
		{WWWAuthenticate{Scheme: SchemeDigest, Realm: "ipcamd", Nonce: "n", Algorithm: AlgorithmMD5, QOP: "auth"},
			`Digest realm="ipcamd", nonce="n", algorithm=MD5, qop="auth"`},
		{WWWAuthenticate{Scheme: SchemeDigest, Realm: "ipcamd", Nonce: "n", Algorithm: AlgorithmSHA256, QOP: "auth", Stale: true},
			`Digest realm="ipcamd", nonce="n", stale=true, algorithm=SHA-256, qop="auth"`},
		{WWWAuthenticate{Scheme: SchemeDigest, Realm: `a"b`, Nonce: "n", Opaque: "o"},
			`Digest realm="a\"b", nonce="n", opaque="o"`},
	}
	for _, tt := range tests {
		if got := tt.in.Marshal(); got != tt.want {
			t.Errorf("Marshal(%+v) =\n%s, want\n%s", tt.in, got, tt.want)
		}
	}
}

func FuzzAuthorization(f *testing.F) {
	f.Add(`Digest username="admin", realm="ipcamd", nonce="n", uri="rtsp://h/s", response="00", qop=auth, nc=00000001, cnonce="c"`)
	f.Add("Basic YWRtaW46c2VjcmV0")
	f.Fuzz(func(t *testing.T, v string) {
		var a Authorization
		if err := a.Unmarshal(v); err != nil {
			if !strings.HasPrefix(err.Error(), "rtsp: malformed Authorization header: ") {
				t.Fatalf("error %q lacks prefix", err)
			}
			return
		}
		if a.Scheme != SchemeBasic && a.Scheme != SchemeDigest {
			t.Fatalf("Unmarshal(%q) gave scheme %q", v, a.Scheme)
		}
		if strings.Contains(a.User, ":") {
			t.Fatalf("Unmarshal(%q) gave user %q with a colon", v, a.User)
		}
		m := a.Marshal()
		var back Authorization
		if err := back.Unmarshal(m); err != nil || !reflect.DeepEqual(back, a) {
			t.Fatalf("round trip through %q: %+v, %v; want %+v", m, back, err, a)
		}
		if m2 := back.Marshal(); m2 != m {
			t.Fatalf("Marshal not stable: %q then %q", m, m2)
		}
	})
}

func FuzzWWWAuthenticate(f *testing.F) {
	f.Add(`Digest realm="ipcamd", nonce="n", stale=true, algorithm=SHA-256, qop="auth"`)
	f.Add(`Basic realm="ipcamd"`)
	f.Fuzz(func(t *testing.T, v string) {
		var w WWWAuthenticate
		if err := w.Unmarshal(v); err != nil {
			if !strings.HasPrefix(err.Error(), "rtsp: malformed WWW-Authenticate header ") {
				t.Fatalf("error %q lacks prefix", err)
			}
			return
		}
		if w.Scheme != SchemeBasic && w.Scheme != SchemeDigest {
			t.Fatalf("Unmarshal(%q) gave scheme %q", v, w.Scheme)
		}
		m := w.Marshal()
		var back WWWAuthenticate
		if err := back.Unmarshal(m); err != nil || !reflect.DeepEqual(back, w) {
			t.Fatalf("round trip through %q: %+v, %v; want %+v", m, back, err, w)
		}
		if m2 := back.Marshal(); m2 != m {
			t.Fatalf("Marshal not stable: %q then %q", m, m2)
		}
	})
}
