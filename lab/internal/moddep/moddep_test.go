package moddep

import (
	"strings"
	"testing"
)

func TestOrder(t *testing.T) {
	const dep = `kernel/a.ko: kernel/b.ko kernel/c-x.ko
kernel/b.ko: kernel/c-x.ko
kernel/c-x.ko:
extra/gpio-sim.ko: kernel/c-x.ko
`
	d, err := Parse(strings.NewReader(dep))
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Order("a", "gpio_sim", "b")
	if err != nil {
		t.Fatal(err)
	}
	want := "kernel/c-x.ko kernel/b.ko kernel/a.ko extra/gpio-sim.ko"
	if s := strings.Join(got, " "); s != want {
		t.Fatalf("Order = %q, want %q", s, want)
	}
	if _, err := d.Order("nope"); err == nil {
		t.Fatal("Order of an unknown module: no error")
	}
}
