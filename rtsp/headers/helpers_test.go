package headers

import (
	"net/netip"
	"time"
)

func ptr[T any](v T) *T { return &v }

func addr(s string) *netip.Addr {
	a := netip.MustParseAddr(s)
	return &a
}

func dur(s string) *time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return &d
}
