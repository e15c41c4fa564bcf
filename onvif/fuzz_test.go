package onvif

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func contextWithLocal(r *http.Request, la net.Addr) context.Context {
	return context.WithValue(r.Context(), http.LocalAddrContextKey, la)
}

// FuzzParseEnvelope checks that the envelope parser never panics and that
// whatever it accepts can be served. The seed corpus is the replayed
// client requests in testdata/requests plus testdata/fuzz.
func FuzzParseEnvelope(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "requests", "*.xml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s, err := New(authOptions())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := parseEnvelope(b)
		if err != nil {
			return
		}
		if env.Version != 11 && env.Version != 12 {
			t.Fatalf("version %d", env.Version)
		}
		r, _ := http.NewRequest("POST", "http://192.0.2.1"+MediaPath, strings.NewReader(string(b)))
		c := &call{r: r, env: env, op: &env.Op}
		c.setLocal()
		reply, err := s.serve(c)
		if err == nil {
			if _, err := marshalEnvelope(env.Version, reply); err != nil {
				t.Fatal(err)
			}
		}
	})
}
