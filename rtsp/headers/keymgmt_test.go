package headers

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestKeyMgmtUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want KeyMgmt
		// canonical is the Marshal output; "" means the same as in.
		canonical string
	}{
		{
			name: "gortsplib",
			in:   `prot=mikey;uri="rtsps://127.0.0.1:8322/main/trackID=0";data="AQAFAA=="`,
			want: KeyMgmt{URL: "rtsps://127.0.0.1:8322/main/trackID=0", Data: []byte{1, 0, 5, 0}},
		},
		{
			name:      "RFC 4567 spacing, unquoted data, no uri",
			in:        ` prot = MIKEY ; data = AQAFAA== `,
			want:      KeyMgmt{Data: []byte{1, 0, 5, 0}},
			canonical: `prot=mikey;data="AQAFAA=="`,
		},
		{
			name:      "uri with ; and , inside quotes, unknown parameter",
			in:        `prot=mikey;uri="rtsps://h/a;b,c";x=1;data="AA=="`,
			want:      KeyMgmt{URL: "rtsps://h/a;b,c", Data: []byte{0}},
			canonical: `prot=mikey;uri="rtsps://h/a;b,c";data="AA=="`,
		},
		{
			name:      "another protocol first",
			in:        `prot=other;data="xyz",prot=mikey;uri="u";data="AA=="`,
			want:      KeyMgmt{URL: "u", Data: []byte{0}},
			canonical: `prot=mikey;uri="u";data="AA=="`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got KeyMgmt
			if err := got.Unmarshal(tt.in); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Unmarshal = %+v, want %+v", got, tt.want)
			}
			want := tt.canonical
			if want == "" {
				want = tt.in
			}
			if m := got.Marshal(); m != want {
				t.Errorf("Marshal = %q, want %q", m, want)
			}
		})
	}
}

func TestKeyMgmtUnmarshalErrors(t *testing.T) {
	tests := []struct {
		in          string
		want        string
		unsupported bool
	}{
		{"", "no key management specification", false},
		{`prot=mikey`, "missing data parameter", false},
		{`uri="x";data="AA=="`, "missing prot parameter", false},
		{`prot=mikey;data="not base64!"`, "data is not base64", false},
		{"prot=mikey;data=\"\r\n\"", "data is empty", false},
		{`prot=mikey;data="AA==`, "unterminated quoted string", false},
		{`prot=mikey;prot=mikey;data="AA=="`, "prot given twice", false},
		{`prot=mikey;data="AA==";data="AA=="`, "data given twice", false},
		{`prot=sdes;data="AA=="`, `protocols "sdes"`, true},
	}
	for _, tt := range tests {
		k := KeyMgmt{URL: "sentinel"}
		err := k.Unmarshal(tt.in)
		if err == nil || !strings.HasPrefix(err.Error(), "rtsp: malformed KeyMgmt header: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Unmarshal(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			continue
		}
		if errors.Is(err, ErrUnsupportedKeyMgmt) != tt.unsupported {
			t.Errorf("Unmarshal(%q): errors.Is(ErrUnsupportedKeyMgmt) = %v", tt.in, !tt.unsupported)
		}
		if strings.Contains(err.Error(), "AA==") {
			t.Errorf("Unmarshal(%q) error %q quotes the key data", tt.in, err)
		}
		if k.URL != "sentinel" {
			t.Errorf("Unmarshal(%q) modified the receiver on error", tt.in)
		}
	}
}
